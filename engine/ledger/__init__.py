"""Tamper evidence: canonical JSON, the hash chain (the only hash formula), checkpoints."""
