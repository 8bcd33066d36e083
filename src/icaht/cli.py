"""The ``icaht`` command line: assess, replay, grade, rules, profile, serve, db, user, token,
score, validate, schema.

Errors from icaht (bad input, bad profile) and database errors are reported here, in one place,
without a traceback and without patient data. Every command that writes to the database is in
the audit log, with the actor ``cli:<operating-system user>``.
"""

from __future__ import annotations

import csv
import getpass
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from icaht.cohort.cli import cohort_app
from icaht.core.assessment import assess
from icaht.core.hematotox import car_hematotox
from icaht.core.record import Moment
from icaht.core.replay import replay
from icaht.core.timeline import calendar_day
from icaht.core.units import unit_factor
from icaht.errors import IcahtError, InputError
from icaht.io.fhir.cli import fhir_app
from icaht.io.inputs import load_courses
from icaht.io.records import read_records
from icaht.io.tabular import is_tabular_folder
from icaht.io.tabular_records import read_tabular_records
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.profile import DEFAULT_PROFILE, Profile, load_profile
from icaht.report.catalogue import catalogue_json, catalogue_markdown, profile_markdown
from icaht.report.console import DISCLAIMER, render_assessment
from icaht.report.replay_text import render_replay
from icaht.report.rows import assessment_row
from icaht.schemas import SCHEMAS, schema_text
from icaht.service.app import create_app
from icaht.service.dashboard.demo import DEMO_PASSWORD, demo_app, prepare_demo, serve_demo
from icaht.service.server import serve
from icaht.service.sessions import DEMO_USER
from icaht.simulate import available_formats, write_cohort
from icaht.store.audit import audit, audit_rows, verify_chain
from icaht.store.database import current_revision, make_engine, require_current, upgrade
from icaht.store.patients import import_records, restore_patient
from icaht.store.settings import StoreSettings
from icaht.store.users import (
    create_token,
    create_user,
    revoke_token,
    set_disabled,
    set_role,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"icaht: cytopenias after CAR T-cell therapy. {DISCLAIMER}",
    pretty_exceptions_show_locals=False,  # a traceback's locals would show patient data
)
score_app = typer.Typer(no_args_is_help=True, help="Quick risk-score calculations.")
app.add_typer(score_app, name="score")
profile_app = typer.Typer(no_args_is_help=True, help="Institution profiles.")
app.add_typer(profile_app, name="profile")
db_app = typer.Typer(
    no_args_is_help=True,
    help="The database: ICAHT_DATABASE_URL, else SQLite in ICAHT_DATA_DIR (./icaht-data).",
)
app.add_typer(db_app, name="db")
user_app = typer.Typer(no_args_is_help=True, help="Users of the service.")
app.add_typer(user_app, name="user")
token_app = typer.Typer(no_args_is_help=True, help="API tokens for programs.")
app.add_typer(token_app, name="token")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log.")
app.add_typer(audit_app, name="audit")
app.add_typer(fhir_app, name="fhir")
app.add_typer(cohort_app, name="cohort")

out = Console()
err = Console(stderr=True)

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


def _parse_as_of(text: str | None) -> Moment | None:
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


def _fail(exc: IcahtError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def cli_actor() -> str:
    """Who the audit log names for a command: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """A transaction for a command that writes: committed at the end; icaht's errors and
    database errors reported without a traceback (database errors by their kind and message,
    never their statement or parameters)."""
    try:
        with Session(engine) as session, session.begin():
            yield session
    except IcahtError as exc:
        raise _fail(exc) from None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason: BaseException = exc if orig is None else orig
        err.print(f"[bold red]database error:[/] {type(reason).__name__}: {str(reason)[:200]}")
        raise typer.Exit(2) from None


def _audit(session: Session, action: str, **detail: object) -> None:
    """Audit a command that writes, in its transaction."""
    key = detail.pop("patient_key", None)
    audit(
        session,
        actor=cli_actor(),
        action=action,
        patient_key=None if key is None else str(key),
        detail=detail,
    )


def _profile(name: str) -> Profile:
    try:
        return load_profile(name)
    except IcahtError as exc:
        raise _fail(exc) from None


def _counting_bar() -> Progress:
    """A progress bar on stderr for counted work: what, how many of how many, time left."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@app.command("assess")
def assess_command(
    path: Annotated[
        Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
    ],
    as_of: AsOfOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Assess one patient (or each patient of an input) as of a day."""
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    chosen = _profile(profile)
    moment = _parse_as_of(as_of)
    try:
        courses = load_courses(path)
    except IcahtError as exc:
        raise _fail(exc) from None
    for course in courses:
        assessment = assess(course, moment, chosen)
        if output_format == "json":
            typer.echo(assessment.model_dump_json(indent=2))
        else:
            render_assessment(out, course, assessment)


@app.command("replay")
def replay_command(
    path: Annotated[Path, typer.Argument(help="A record .json (or an input of several patients).")],
    first: Annotated[int | None, typer.Option("--from", help="First day (default: day 0).")] = None,
    last: Annotated[
        int | None, typer.Option("--to", help="Last day (default: the latest data).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Day by day, the recommendations that appeared, changed and disappeared."""
    if output_format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    chosen = _profile(profile)
    try:
        courses = load_courses(path)
    except IcahtError as exc:
        raise _fail(exc) from None
    for course in courses:
        latest = course.last_data_day()
        start = 0 if first is None else first
        end = (calendar_day(latest) if latest is not None else 0) if last is None else last
        if end < start:
            raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
        result = replay(course, start, end, chosen)
        if output_format == "json":
            typer.echo(result.model_dump_json(indent=2))
        else:
            render_replay(out, result)


@app.command("rules")
def rules_command(
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """The rule catalogue: what each rule does, what it reads, its settings and sources."""
    if output_format not in ("md", "json"):
        raise typer.BadParameter("use md or json", param_hint="--format")
    chosen = _profile(profile)
    text = catalogue_json(chosen) if output_format == "json" else catalogue_markdown(chosen)
    typer.echo(text, nl=False)


@profile_app.command("show")
def profile_show_command(profile: ProfileOption = DEFAULT_PROFILE) -> None:
    """Every setting of a profile with its value and documented source."""
    typer.echo(profile_markdown(_profile(profile)))


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the service (REST API under /api/v1; OpenAPI at /docs)."""
    try:
        create_app()  # check settings and schema before starting workers
    except IcahtError as exc:
        raise _fail(exc) from None
    err.print(f"icaht serving on http://{host}:{port}/  ({DISCLAIMER})")
    serve(host, port, workers)


@app.command("demo")
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

        try:
            info, store, service = prepare_demo(folder, progress=step)
            application = demo_app(store, service)
        except IcahtError as exc:
            raise _fail(exc) from None
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
    engine = make_engine(StoreSettings().url())
    before = current_revision(engine)
    reached = upgrade(engine)
    if before != reached:
        with _writing(engine) as session:
            _audit(session, "db-upgrade", before=before, after=reached)
    shown = "empty" if before is None else before
    out.print(f"database {engine.url.render_as_string(hide_password=True)}: {shown} -> {reached}")


@db_app.command("import")
def db_import_command(
    path: Annotated[
        Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
    ],
) -> None:
    """Import records in one transaction: all or nothing; the same data twice adds nothing."""
    try:
        records = read_tabular_records(path) if is_tabular_folder(path) else read_records(path)
    except IcahtError as exc:
        raise _fail(exc) from None
    with _writing(_database()) as session:
        report = import_records(session, records, str(path), actor=cli_actor())
        _audit(
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


def _database() -> Engine:
    engine = make_engine(StoreSettings().url())
    try:
        require_current(engine)
    except IcahtError as exc:
        raise _fail(exc) from None
    return engine


@user_app.command("create")
def user_create_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
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
    with _writing(_database()) as session:
        create_user(session, username, password, role)
        _audit(session, "user-create", user=username, role=role)
    out.print(f"user {username} created with role {role}")


UsernameArgument = Annotated[str, typer.Argument(help="Login name.")]


@user_app.command("disable")
def user_disable_command(username: UsernameArgument) -> None:
    """Disable a user: their API tokens and browser sessions stop working at once."""
    with _writing(_database()) as session:
        changed = set_disabled(session, username, disabled=True)
        _audit(session, "user-disable", user=username, changed=changed)
    out.print(f"user {username} disabled" + ("" if changed else " (already)"))


@user_app.command("enable")
def user_enable_command(username: UsernameArgument) -> None:
    """Enable a disabled user again."""
    with _writing(_database()) as session:
        changed = set_disabled(session, username, disabled=False)
        _audit(session, "user-enable", user=username, changed=changed)
    out.print(f"user {username} enabled" + ("" if changed else " (already)"))


@user_app.command("role")
def user_role_command(
    username: UsernameArgument,
    role: Annotated[str, typer.Argument(help="clinician, researcher or admin.")],
) -> None:
    """Change a user's role (applies from their next request)."""
    with _writing(_database()) as session:
        old = set_role(session, username, role)
        _audit(session, "user-role", user=username, old=old, new=role)
    out.print(f"user {username}: role {old} -> {role}")


@db_app.command("restore")
def db_restore_command(
    patient_id: Annotated[str, typer.Argument(help="The deleted patient's id.")],
) -> None:
    """Restore a patient an admin deleted, with all its rows."""
    with _writing(_database()) as session:
        restore_patient(session, patient_id)
        _audit(session, "restore", patient_key=patient_id)
    out.print("patient restored")


@token_app.command("create")
def token_create_command(
    username: Annotated[str, typer.Argument(help="The user the program acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[int, typer.Option(help="Days until it expires.")] = 90,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    with _writing(_database()) as session:
        issued = create_token(session, username, name, days)
        _audit(session, "token-create", user=username, token=issued.id, days=days)
    err.print(f"token {issued.id} for {username}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    err.print("Store it now: it cannot be shown again.")
    typer.echo(issued.secret)


@token_app.command("revoke")
def token_revoke_command(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke an API token."""
    with _writing(_database()) as session:
        revoke_token(session, token_id)
        _audit(session, "token-revoke", token=token_id)
    out.print(f"token {token_id} revoked")


@audit_app.command("export")
def audit_export_command(
    out_path: Annotated[Path, typer.Option("--out", help="Output file (.jsonl or .csv).")],
) -> None:
    """Export the whole audit log (written atomically)."""
    if out_path.suffix not in (".jsonl", ".csv"):
        raise typer.BadParameter("use a .jsonl or .csv file name", param_hint="--out")
    tmp = out_path.with_name(out_path.name + ".partial")
    count = 0
    with Session(_database()) as session, tmp.open("w", encoding="utf-8", newline="") as handle:
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
    tmp.replace(out_path)
    err.print(f"{count} audit entries -> {out_path}")


@audit_app.command("verify")
def audit_verify_command() -> None:
    """Check the audit log's hash chain: exit status 1 and the first broken link if an entry
    was changed, removed or inserted."""
    with Session(_database()) as session:
        result = verify_chain(session)
    if result.broken_at is not None:
        err.print(f"[bold red]audit log broken at entry {result.broken_at}:[/] {result.reason}")
        raise typer.Exit(1)
    out.print(f"audit log intact: {result.entries} entries chained")


@app.command("grade")
def grade_command(
    path: Annotated[
        Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Results CSV, one row per patient.")],
    as_of: AsOfOption = None,
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Grade every patient of an input and write one row per patient."""
    chosen = _profile(profile)
    moment = _parse_as_of(as_of)
    try:
        courses = load_courses(path)
    except IcahtError as exc:
        raise _fail(exc) from None
    rows = []
    with _counting_bar() as progress:
        task = progress.add_task("grading", total=len(courses))
        for course in courses:
            rows.append(assessment_row(assess(course, moment, chosen, episodes=False)))
            progress.advance(task)
    tmp = out_path.with_name(out_path.name + ".partial")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["patient_id"])
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out_path)
    err.print(f"{len(rows)} patient(s) graded -> {out_path}")


def _value(name: str, value: float | None, unit: str, analyte: Analyte) -> float | None:
    if value is None:
        return None
    factor = unit_factor(analyte, unit)
    if factor is None:
        accepted = ", ".join(sorted(ANALYTES[analyte].units))
        raise typer.BadParameter(
            f"unit {unit!r} not accepted; accepted: {accepted}", param_hint=name
        )
    if value < 0 or math.isnan(value):
        raise typer.BadParameter(f"{value} is not a valid value", param_hint=name)
    return value * factor


@score_app.command("hematotox")
def hematotox_command(
    plt: Annotated[float | None, typer.Option(help="Platelets")] = None,
    plt_unit: Annotated[str, typer.Option(help="Platelet unit")] = "10^9/L",
    anc: Annotated[float | None, typer.Option(help="ANC")] = None,
    anc_unit: Annotated[str, typer.Option(help="ANC unit")] = "10^9/L",
    hb: Annotated[float | None, typer.Option(help="Hemoglobin")] = None,
    hb_unit: Annotated[str, typer.Option(help="Hemoglobin unit")] = "g/dL",
    crp: Annotated[float | None, typer.Option(help="CRP")] = None,
    crp_unit: Annotated[str, typer.Option(help="CRP unit")] = "mg/dL",
    ferritin: Annotated[float | None, typer.Option(help="Ferritin")] = None,
    ferritin_unit: Annotated[str, typer.Option(help="Ferritin unit")] = "ng/mL",
) -> None:
    """CAR-HEMATOTOX from pre-lymphodepletion values (Rejeski, Blood 2021)."""
    result = car_hematotox(
        platelets=_value("--plt", plt, plt_unit, Analyte.PLATELETS),
        anc=_value("--anc", anc, anc_unit, Analyte.ANC),
        hb=_value("--hb", hb, hb_unit, Analyte.HB),
        crp_mg_dl=_value("--crp", crp, crp_unit, Analyte.CRP),
        ferritin=_value("--ferritin", ferritin, ferritin_unit, Analyte.FERRITIN),
    )
    for item in result.items:
        shown = "missing" if item.value is None else f"{item.value:g} {item.unit}"
        points = "-" if item.points is None else str(item.points)
        out.print(f"{item.name:<12} {shown:<22} {points:>2}  {item.band}")
    if result.computable:
        out.print(f"CAR-HEMATOTOX {result.total:g}: {result.category} risk")
    else:
        out.print(
            f"CAR-HEMATOTOX not computable: missing {', '.join(result.missing)}"
            + (
                f" (range {result.minimum:g}-{result.maximum:g})"
                if result.minimum is not None
                else ""
            )
        )
    out.print(DISCLAIMER, style="dim")


@app.command("simulate")
def simulate_command(
    out_dir: Annotated[Path, typer.Option("--out", help="New or empty output folder.")],
    n: Annotated[int, typer.Option("--n", min=0, help="Number of patients.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 1,
    output_format: Annotated[
        str, typer.Option("--format", help="parquet, csv, json or fhir-ndjson")
    ] = "parquet",
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Patients per chunk.")] = 1000,
) -> None:
    """Write a synthetic cohort (deterministic for a seed; see docs/simulate.md)."""
    if output_format not in available_formats():
        raise typer.BadParameter(f"use {', '.join(available_formats())}", param_hint="--format")
    with _counting_bar() as progress:
        task = progress.add_task("simulating", total=n)
        try:
            summary = write_cohort(
                out_dir,
                n,
                seed,
                output_format,
                chunk=chunk,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        except IcahtError as exc:
            raise _fail(exc) from None
    err.print(
        f"{summary.patients} synthetic patient(s), {summary.observations} observation(s), "
        f"{summary.events} event(s) -> {out_dir} ({output_format})"
    )


@app.command("validate")
def validate_command(
    path: Annotated[
        Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
    ],
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Check an input (and the profile) and print every problem (exit status 2 if any)."""
    _profile(profile)
    try:
        courses = load_courses(path)
    except InputError as exc:
        for problem in exc.problems:
            out.print(f"- {problem}", highlight=False, soft_wrap=True)
        err.print(f"[bold red]{len(exc.problems)} problem(s)[/]; nothing would be loaded")
        raise typer.Exit(2) from None
    except IcahtError as exc:
        raise _fail(exc) from None
    observations = sum(len(s) for c in courses for s in c.labs.values())
    events = sum(len(c.events) for c in courses)
    out.print(f"OK: {len(courses)} patient(s), {observations} observation(s), {events} event(s)")


@app.command("schema")
def schema_command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the JSON Schema files.")
    ] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of PatientRecord and Assessment."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (out_dir / name).write_text(schema_text(name), encoding="utf-8")
        out.print(f"wrote {out_dir / name}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
