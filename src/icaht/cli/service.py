"""The service and its database: ``serve``, ``demo``, ``db``, ``user``, ``token``, ``audit``.

Every command that writes to the database is in the audit log, with the actor
``cli:<operating-system user>`` (:func:`icaht.cli.common.audit_cli`). The web stack and the store
are imported when one of these commands runs, never for ``icaht --help``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from icaht import DISCLAIMER
from icaht.cli.common import audit_cli, cli_actor, command_group, database, err, out, writing

db_app = command_group(
    "The database: ICAHT_DATABASE_URL, else SQLite in ICAHT_DATA_DIR (./icaht-data)."
)
user_app = command_group("Users of the service.")
token_app = command_group("API tokens for programs.")
audit_app = command_group("The audit log.")

UsernameArgument = Annotated[str, typer.Argument(help="Login name.")]


def register_service_commands(app: typer.Typer) -> None:
    """Add serve, demo and the db, user, token and audit groups to ``app``."""
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the service (REST API under /api/v1; OpenAPI at /docs)."""
    from icaht.service.app import create_app
    from icaht.service.server import serve

    create_app()  # check settings and schema before starting workers
    err.print(f"icaht serving on http://{host}:{port}/  ({DISCLAIMER})")
    serve(host, port, workers)


def demo_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Demo data folder (default: ICAHT_DATA_DIR or ./icaht-data)."
        ),
    ] = None,
) -> None:
    """The dashboard with demo patients on SQLite: prints the URL and the demo credentials."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from icaht.service.dashboard.demo import DEMO_PASSWORD, demo_app, prepare_demo, serve_demo
    from icaht.service.sessions import DEMO_USER
    from icaht.store.settings import StoreSettings

    folder = data_dir or StoreSettings().data_dir
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("preparing the demo database", total=None)

        def step(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        info, store, service = prepare_demo(folder, progress=step)
        application = demo_app(store, service)
    err.print(
        f"demo database {info.database}: {info.seed_cases} seed case(s), {info.synthetic} "
        f"synthetic patient(s), {info.created} new" + (f" ({info.note})" if info.note else "")
    )
    out.print(f"icaht dashboard (demo mode): http://{host}:{port}/")
    out.print(f"demo sign-in: user {DEMO_USER}  password {DEMO_PASSWORD}")
    out.print(DISCLAIMER, style="dim")
    serve_demo(application, host, port)


@db_app.command("upgrade")
def db_upgrade_command() -> None:
    """Create the database or apply pending migrations."""
    from icaht.store.database import current_revision, make_engine, upgrade
    from icaht.store.settings import StoreSettings

    engine = make_engine(StoreSettings().url())
    before = current_revision(engine)
    reached = upgrade(engine)
    if before != reached:
        with writing(engine) as session:
            audit_cli(session, "db-upgrade", before=before, after=reached)
    shown = "empty" if before is None else before
    out.print(f"database {engine.url.render_as_string(hide_password=True)}: {shown} -> {reached}")


@db_app.command("import")
def db_import_command(
    path: Annotated[
        Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
    ],
) -> None:
    """Import records in one transaction: all or nothing; the same data twice adds nothing."""
    from icaht.io.records import read_records
    from icaht.io.tabular import is_tabular_folder
    from icaht.io.tabular_records import read_tabular_records
    from icaht.store.patients import import_records

    records = read_tabular_records(path) if is_tabular_folder(path) else read_records(path)
    with writing(database()) as session:
        report = import_records(session, records, str(path), actor=cli_actor())
        audit_cli(
            session,
            "db-import",
            patient_keys=[r.patient.patient_id for r in records],
            **asdict(report),
        )
    out.print(
        f"{len(records)} patient(s): {report.patients_created} created, "
        f"{report.patients_updated} updated; observations {report.observations_added} added, "
        f"{report.observations_present} already present; events {report.events_added} added, "
        f"{report.events_present} already present"
    )


@db_app.command("restore")
def db_restore_command(
    patient_id: Annotated[str, typer.Argument(help="The deleted patient's id.")],
) -> None:
    """Restore a patient an admin deleted, with all its rows."""
    from icaht.store.patients import restore_patient

    with writing(database()) as session:
        restore_patient(session, patient_id)
        audit_cli(session, "restore", patient_key=patient_id)
    out.print("patient restored")


@user_app.command("create")
def user_create_command(
    username: UsernameArgument,
    role: Annotated[str, typer.Option(help="clinician, researcher or admin.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ICAHT_NEW_PASSWORD",
            help="Prompted for when not given (or ICAHT_NEW_PASSWORD).",
        ),
    ],
) -> None:
    """Add a user."""
    from icaht.store.users import create_user

    with writing(database()) as session:
        create_user(session, username, password, role)
        audit_cli(session, "user-create", user=username, role=role)
    out.print(f"user {username} created with role {role}")


@user_app.command("disable")
def user_disable_command(username: UsernameArgument) -> None:
    """Disable a user: their API tokens and browser sessions stop working at once."""
    from icaht.store.users import set_disabled

    with writing(database()) as session:
        changed = set_disabled(session, username, disabled=True)
        audit_cli(session, "user-disable", user=username, changed=changed)
    out.print(f"user {username} disabled" + ("" if changed else " (already)"))


@user_app.command("enable")
def user_enable_command(username: UsernameArgument) -> None:
    """Enable a disabled user again."""
    from icaht.store.users import set_disabled

    with writing(database()) as session:
        changed = set_disabled(session, username, disabled=False)
        audit_cli(session, "user-enable", user=username, changed=changed)
    out.print(f"user {username} enabled" + ("" if changed else " (already)"))


@user_app.command("role")
def user_role_command(
    username: UsernameArgument,
    role: Annotated[str, typer.Argument(help="clinician, researcher or admin.")],
) -> None:
    """Change a user's role (applies from their next request)."""
    from icaht.store.users import set_role

    with writing(database()) as session:
        old = set_role(session, username, role)
        audit_cli(session, "user-role", user=username, old=old, new=role)
    out.print(f"user {username}: role {old} -> {role}")


@token_app.command("create")
def token_create_command(
    username: Annotated[str, typer.Argument(help="The user the program acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[int, typer.Option(help="Days until it expires.")] = 90,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    from icaht.store.users import create_token

    with writing(database()) as session:
        issued = create_token(session, username, name, days)
        audit_cli(session, "token-create", user=username, token=issued.id, days=days)
    err.print(f"token {issued.id} for {username}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    err.print("Store it now: it cannot be shown again.")
    typer.echo(issued.secret)


@token_app.command("revoke")
def token_revoke_command(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke an API token."""
    from icaht.store.users import revoke_token

    with writing(database()) as session:
        revoke_token(session, token_id)
        audit_cli(session, "token-revoke", token=token_id)
    out.print(f"token {token_id} revoked")


@audit_app.command("export")
def audit_export_command(
    out_path: Annotated[Path, typer.Option("--out", help="Output file (.jsonl or .csv).")],
) -> None:
    """Export the whole audit log (written atomically)."""
    from sqlalchemy.orm import Session

    from icaht.atomic import atomic_text
    from icaht.store.audit import audit_rows

    if out_path.suffix not in (".jsonl", ".csv"):
        raise typer.BadParameter("use a .jsonl or .csv file name", param_hint="--out")
    count = 0
    with Session(database()) as session, atomic_text(out_path, newline="") as handle:
        writer = None
        for row in audit_rows(session):
            if out_path.suffix == ".jsonl":
                handle.write(json.dumps(row) + "\n")
            else:
                writer = writer or csv.DictWriter(handle, fieldnames=list(row))
                if count == 0:
                    writer.writeheader()
                writer.writerow({**row, "detail": json.dumps(row["detail"])})
            count += 1
    err.print(f"{count} audit entries -> {out_path}")


@audit_app.command("verify")
def audit_verify_command() -> None:
    """Check the audit log's hash chain: exit status 1 and the first broken link if an entry
    was changed, removed or inserted."""
    from sqlalchemy.orm import Session

    from icaht.store.audit import verify_chain

    with Session(database()) as session:
        result = verify_chain(session)
    if result.broken_at is not None:
        err.print(f"[bold red]audit log broken at entry {result.broken_at}:[/] {result.reason}")
        raise typer.Exit(1)
    out.print(f"audit log intact: {result.entries} entries chained")
