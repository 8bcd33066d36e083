"""Turn pydantic validation errors into icaht problems that name source, row, field and value."""

from __future__ import annotations

from pydantic import ValidationError

from icaht.core.record import EVENT_KINDS
from icaht.errors import Problem


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def from_validation_error(
    exc: ValidationError, source: str, row: int | None = None, prefix: str = ""
) -> list[Problem]:
    """One problem per pydantic error; discriminator tags are dropped from the field path."""
    problems = []
    for err in exc.errors(include_url=False):
        raw = err["loc"]
        loc = tuple(  # drop tagged-union tags: ("events", 3, "crs", "grade") -> events[3].grade
            part
            for i, part in enumerate(raw)
            if not (part in EVENT_KINDS and (i == 0 or isinstance(raw[i - 1], int)))
        )
        field = _dotted(loc)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = f"{field}.kind" if field else "kind"
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        value = err.get("input")
        if isinstance(value, dict | list):
            value = None
        problems.append(Problem(source, err["msg"], row=row, field=field or None, value=value))
    return problems
