"""``icaht fhir``: export records and assessments as FHIR R4, import FHIR into records, pull one
patient from a FHIR server. fhir.resources (slow to import) loads only when one of these runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icaht.cli.common import (
    DEFAULT_PROFILE,
    AsOfOption,
    ProfileOption,
    chosen_profile,
    cli_actor,
    command_group,
    database,
    err,
    parse_as_of,
    writing,
)

if TYPE_CHECKING:
    from icaht.core.patient_record import PatientRecord
    from icaht.io.fhir.import_report import ImportReport

fhir_app = command_group("FHIR R4: export records and assessments.")


def _write_json(path: Path, data: object) -> None:
    from icaht.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


@fhir_app.command("export")
def export_command(
    record: Annotated[Path, typer.Argument(help="A record .json or a folder of records.")],
    out: Annotated[
        Path, typer.Option("--out", help="bundle.json (a Bundle), or a folder (bulk NDJSON).")
    ],
) -> None:
    """Write records as FHIR R4 resources (validated with fhir.resources)."""
    from icaht.io.fhir.writer import write_bundle, write_ndjson
    from icaht.io.records import read_records

    records = read_records(record)
    if out.suffix.lower() == ".json":
        count = write_bundle(records, out)
        err.print(f"{len(records)} patient(s), {count} resource(s) -> {out}")
    else:
        counts = write_ndjson(records, out)
        shown = ", ".join(f"{kind} {n}" for kind, n in counts.items())
        err.print(f"{len(records)} patient(s) -> {out}: {shown}")


@fhir_app.command("assessment")
def assessment_command(
    record: Annotated[
        Path, typer.Argument(help="A record .json, a FHIR Bundle, or any input of `icaht assess`.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output Bundle (.json).")],
    as_of: AsOfOption = None,
    profile: ProfileOption = DEFAULT_PROFILE,
    cards: Annotated[
        Path | None, typer.Option("--cards", help="Also write the CDS Hooks cards (.json).")
    ] = None,
) -> None:
    """Write the assessment as FHIR R4 (grade Observations, CAR-HEMATOTOX RiskAssessment)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from icaht.core.assessment import assess
    from icaht.io.fhir.assessment import assessment_resources
    from icaht.io.fhir.cards import recommendation_cards
    from icaht.io.fhir.export_types import Resource, fhir_id
    from icaht.io.fhir.writer import validated
    from icaht.io.inputs import load_courses

    chosen = chosen_profile(profile)
    moment = parse_as_of(as_of)
    courses = load_courses(record)
    entries: list[Resource] = []
    all_cards: list[dict[str, object]] = []
    with Progress(
        TextColumn("assessing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("assessing", total=len(courses))
        for course in courses:
            assessment = assess(course, moment, chosen)
            subject = f"Patient/{fhir_id(assessment.patient_id)}"
            for resource in assessment_resources(assessment, subject, course.facts.infusion_date):
                entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
            all_cards += recommendation_cards(assessment, subject)
            progress.advance(task)
    bundle = validated({"resourceType": "Bundle", "type": "collection", "entry": entries})
    _write_json(out, bundle)
    err.print(f"{len(courses)} patient(s), {len(entries)} resource(s) -> {out}")
    if cards is not None:
        _write_json(cards, {"cards": all_cards})
        err.print(f"{len(all_cards)} card(s) -> {cards}")


@fhir_app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(help="A FHIR Bundle .json or a bulk NDJSON folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PatientRecord files.")],
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write the import report (.json).")
    ] = None,
) -> None:
    """Read FHIR into PatientRecord files (one per patient) and print the import report."""
    from icaht.errors import InputError
    from icaht.io.detect import is_ndjson_folder
    from icaht.io.fhir.courses import missing_infusion
    from icaht.io.fhir.export_types import fhir_id
    from icaht.io.fhir.ndjson import read_ndjson
    from icaht.io.fhir.reader import read_bundle

    if source.is_dir() and is_ndjson_folder(source):
        records, report = read_ndjson(source)
    else:
        records, report = read_bundle(source)
    missing = missing_infusion(records, str(source))
    if missing:  # days cannot be counted: say so here, not in every later assessment
        raise InputError(missing)
    out.mkdir(parents=True, exist_ok=True)
    for record in records:
        name = fhir_id(record.patient.patient_id)
        _write_json(out / f"{name}.json", record.model_dump(mode="json", exclude_none=True))
    _print_report(report)
    if report_path is not None:
        _write_json(report_path, report.as_dict())


def _print_report(report: ImportReport) -> None:
    err.print(report.summary(), highlight=False, soft_wrap=True)


@fhir_app.command("pull")
def pull_command(
    base: Annotated[str, typer.Option("--base", help="FHIR R4 base URL.")],
    patient: Annotated[str, typer.Option("--patient", help="The Patient resource id.")],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="ICAHT_FHIR_TOKEN",
            show_envvar=True,
            help="Bearer access token (prefer the environment variable: a command line is visible "
            "to other users).",
        ),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="SMART Backend Services client id.")
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="PEM private key (RSA: RS384, EC P-384: ES384)."),
    ] = None,
    kid: Annotated[
        str | None, typer.Option("--kid", help="Key id (default: the key's JWK thumbprint).")
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="Backend Services scope (default: system/*.read)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the PatientRecord (.json).")
    ] = None,
    store: Annotated[
        bool, typer.Option("--import", help="Store the record in the database.")
    ] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write the import report (.json).")
    ] = None,
) -> None:
    """Read one patient from a FHIR R4 server (paging through its searches) into a record."""
    from rich.progress import Progress, TextColumn

    from icaht.io.fhir.backend_services import BACKEND_SCOPE, BackendClient
    from icaht.io.fhir.pull import pull_patient

    if (client_id is None) != (key_file is None):
        err.print("[bold red]error:[/] --client-id and --key-file go together")
        raise typer.Exit(2)
    if token and client_id:
        err.print("[bold red]error:[/] give --token or --client-id/--key-file, not both")
        raise typer.Exit(2)
    backend = (
        BackendClient(client_id, key_file, kid, scope or BACKEND_SCOPE)
        if client_id is not None and key_file is not None
        else None
    )
    with Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.completed} resource(s)"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("reading", total=None)

        def advance(kind: str, count: int) -> None:
            progress.update(task, description=f"reading {kind}", completed=count)

        record, report = pull_patient(
            base, patient, token=token or None, backend=backend, progress=advance
        )
    _print_report(report)
    if out is not None:
        _write_json(out, record.model_dump(mode="json", exclude_none=True))
        err.print(f"record -> {out}")
    if report_path is not None:
        _write_json(report_path, report.as_dict())
    if store:
        _import_pulled(record, f"{base.rstrip('/')}/Patient/{patient}")
    if out is None and not store:
        typer.echo(json.dumps(record.model_dump(mode="json", exclude_none=True), indent=1))


def _import_pulled(record: PatientRecord, source: str) -> None:
    from icaht.store.patients import import_records

    engine = database()
    try:
        with writing(engine) as session:
            summary = import_records(session, [record], source, actor=cli_actor())
    finally:
        engine.dispose()
    err.print(
        f"stored patient {record.patient.patient_id}: {summary.patients_created} created, "
        f"{summary.patients_updated} updated; observations {summary.observations_added} added; "
        f"events {summary.events_added} added"
    )
