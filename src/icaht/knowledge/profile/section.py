"""The model configuration every profile settings section shares: unknown settings are
rejected (with their dotted name) and a loaded profile cannot change."""

from __future__ import annotations

from pydantic import ConfigDict

SECTION_CONFIG = ConfigDict(extra="forbid", frozen=True)
