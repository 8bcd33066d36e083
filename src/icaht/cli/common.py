"""What every ``icaht`` command shares: the consoles, the ``--as-of`` and ``--profile`` options,
the one place errors become messages and exit statuses, the database helpers and the progress bar.

Start-up is part of the interface: this module imports only typer, rich and the standard library
(plus icaht's errors). Everything heavier (the assessment, the store, the service, pandas,
fhir.resources) is imported inside the command that uses it, so ``icaht --help`` and
``icaht assess`` do not load the web stack (``tests/cli/test_cli_startup.py``).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer._click import Context
from typer.core import TyperGroup

from icaht.errors import IcahtError

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from icaht.core.record import Moment
    from icaht.io.long_table import LongTable
    from icaht.knowledge.profile import Profile

#: Exit status for an input, profile or database that cannot be used (nothing was written).
EXIT_INPUT = 2

out = Console()
err = Console(stderr=True)

#: The shipped default profile's name (``icaht.knowledge.profile.DEFAULT_PROFILE``, which a test
#: keeps equal; not imported here so that the options cost no pydantic import).
DEFAULT_PROFILE = "seed-2023"

ProfileOption = Annotated[
    str,
    typer.Option("--profile", help="Shipped profile name or a profile TOML file."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Day relative to infusion (e.g. 60) or an ISO date; default: latest data."
    ),
]

UnitOption = Annotated[
    str | None,
    typer.Option("--unit", help="Long table: the unit of the value column (cells/uL or 10^9/L)."),
]
AnalyteOption = Annotated[
    str, typer.Option("--analyte", help="Long table: the analyte of the value column.")
]
ColumnsOption = Annotated[
    str | None,
    typer.Option("--columns", help="Long table: LAYOUT=TABLE names, e.g. date=lab_date,anc=ANC."),
]


def long_table_spec(
    path: Path, unit: str | None, analyte: str, columns: str | None
) -> LongTable | None:
    """The long-table options when ``path`` is one table file (None for other inputs)."""
    from icaht.io.long_table import LongTable, parse_columns

    if not (path.is_file() and path.suffix.lower() in (".csv", ".parquet")):
        return None
    if unit is None:
        raise typer.BadParameter("a long table needs the unit of its values", param_hint="--unit")
    return LongTable(unit=unit, analyte=analyte, columns=parse_columns(columns))


class DatabaseError(IcahtError):
    """A database error, by its kind and message (never its statement or parameters)."""


class HandledGroup(TyperGroup):
    """The one place where icaht's errors end a command: the message on stderr, without a
    traceback (which would show patient data), and exit status :data:`EXIT_INPUT`."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except IcahtError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None


def command_group(help_text: str) -> typer.Typer:
    """A command group whose errors go through :class:`HandledGroup`."""
    return typer.Typer(
        cls=HandledGroup,
        no_args_is_help=True,
        add_completion=False,
        help=help_text,
        pretty_exceptions_show_locals=False,  # a traceback's locals would show patient data
    )


def parse_as_of(text: str | None) -> Moment | None:
    """``--as-of``: a day relative to infusion, an ISO date or an ISO datetime (None = latest)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a day number nor an ISO date", param_hint="--as-of"
        ) from None


def chosen_profile(name: str) -> Profile:
    """``--profile``: a shipped profile name or a TOML file (a bad one is an IcahtError)."""
    from icaht.knowledge.profile import load_profile

    return load_profile(name)


def cli_actor() -> str:
    """Who the audit log names for a command: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def database() -> Engine:
    """The configured database, refused unless its schema is at the code's migration head."""
    from icaht.store.database import make_engine, require_current
    from icaht.store.settings import StoreSettings

    engine = make_engine(StoreSettings().url())
    require_current(engine)
    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A transaction for a command that writes: committed at the end; a database error becomes a
    :class:`DatabaseError` naming its kind and message."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    try:
        with Session(engine) as session, session.begin():
            yield session
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason: BaseException = exc if orig is None else orig
        raise DatabaseError(
            f"database error: {type(reason).__name__}: {str(reason)[:200]}"
        ) from None


def audit_cli(session: Session, action: str, **detail: object) -> None:
    """Audit a command that writes, in its transaction, as :func:`cli_actor`."""
    from icaht.store.audit import audit

    key = detail.pop("patient_key", None)
    audit(
        session,
        actor=cli_actor(),
        action=action,
        patient_key=None if key is None else str(key),
        detail=detail,
    )


def counting_bar() -> Progress:
    """A progress bar on stderr for counted work: what, how many of how many, time left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
