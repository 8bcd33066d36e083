"""The configuration shared by the core's pydantic models: immutable once built, so a computed
assessment and everything in it cannot change after the fact (docs/architecture.md)."""

from __future__ import annotations

from pydantic import ConfigDict

#: Immutable models.
FROZEN = ConfigDict(frozen=True)
#: Immutable models that also refuse fields they do not declare.
FROZEN_CLOSED = ConfigDict(frozen=True, extra="forbid")
