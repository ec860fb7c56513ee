"""The workflow language: the spec's models, safe YAML with positions, diagnostics, lint, CEL
expressions, typed values, the JSON Schema.
"""
