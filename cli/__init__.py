"""The `hatchery` command line: one module per area; the only package importing both engine and
api.
"""
