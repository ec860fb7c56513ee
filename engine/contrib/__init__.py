"""Around the engine: diagrams, the demo community."""
