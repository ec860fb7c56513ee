"""The pure core: the compiled workflow (the only importer of transitions) and the decisions
over it. No I/O, no clock.
"""
