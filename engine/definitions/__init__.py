"""Definitions: the load pipeline that ends in compiling (above the core), and the registry of
every version.
"""
