"""The one door: the only code that changes a case."""
