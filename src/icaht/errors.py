"""The one exception hierarchy of icaht; presenters map it to CLI messages and HTTP problems."""

from __future__ import annotations

from dataclasses import dataclass


class IcahtError(Exception):
    """Base of every error icaht raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in an input: where it is and what is wrong."""

    source: str
    message: str
    row: int | None = None
    field: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field {self.field!r}"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.message}{shown}"


class InputError(IcahtError):
    """An input (file, record, table) has problems; all of them are listed, nothing was loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in the input; nothing was loaded"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


class ProfileError(IcahtError):
    """An institution profile is invalid or cannot be found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid profile {source}: " + "; ".join(problems))
