"""The auditor's read side: verification, history at an instant, exports, statistics, filters,
masking.
"""
