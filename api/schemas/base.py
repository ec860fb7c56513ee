"""What every request and response model shares: the bases and the examples' values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

CASE_ID_EXAMPLE = "c_01HZY3K8Q4W6V2M9T7B5N1D0FA"
COMMUNITY_EXAMPLE = "fuzhou/cangshan/jinshan/jinzhou"
MAX_ID = 200


class Body(BaseModel):
    """Base of request bodies: unknown keys are errors, so a typo is not silently lost."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """Base of response bodies."""
