"""The icaht command line, as a user meets it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import update
from sqlalchemy.orm import Session
from tests.io.test_tabular import GOOD_EVENTS, GOOD_OBSERVATIONS, GOOD_PATIENTS, write_set
from typer.testing import CliRunner

from icaht.cli import app
from icaht.store.audit import audit, audit_rows, verify_chain
from icaht.store.database import make_engine
from icaht.store.settings import StoreSettings
from icaht.store.tables import Patient
from icaht.store.users import user_for_token

runner = CliRunner()


def _write_record(path: Path, patient_id: str = "p1", anc_unit: str = "/uL") -> Path:
    record: dict[str, Any] = {
        "patient": {"patient_id": patient_id, "ld_start": -5, "product": "axi-cel"},
        "observations": [
            {"day": -6, "analyte": "anc", "value": 990, "unit": anc_unit},
            {"day": -6, "analyte": "platelets", "value": 125, "unit": "10^3/uL"},
            {"day": -6, "analyte": "hb", "value": 9.5, "unit": "g/dL"},
            *({"day": d, "analyte": "anc", "value": 20, "unit": anc_unit} for d in range(0, 20)),
        ],
        "events": [{"kind": "crs", "start": 2, "end": 3, "grade": 2}],
    }
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_assess_defaults_to_the_latest_data_day(tmp_path: Path) -> None:
    """docs/architecture.md "As-of": without --as-of a record is read as it stands (its last
    value is on day 19)."""
    path = _write_record(tmp_path / "r.json")
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["as_of_day"] == 19


def test_assess_table_shows_disclaimer_and_grades(tmp_path: Path) -> None:
    path = _write_record(tmp_path / "r.json")
    result = runner.invoke(app, ["assess", str(path), "--as-of", "19"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "not a medical device" in result.output
    assert "ICAHT early" in result.output
    assert "As of day 19" in result.output


def test_assess_json_is_an_assessment(tmp_path: Path) -> None:
    path = _write_record(tmp_path / "r.json")
    result = runner.invoke(app, ["assess", str(path), "--as-of", "19", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["patient_id"] == "p1"
    assert data["as_of_day"] == 19
    # ANC 20/uL (<= 0.1 x10^9/L) from day 0 to 19, still open: 20 days -> at least grade 3
    assert data["early_icaht"]["grade"] >= 3


def test_bad_input_exit_status_and_message(tmp_path: Path) -> None:
    path = _write_record(tmp_path / "bad.json", anc_unit="furlongs")
    result = runner.invoke(app, ["assess", str(path)])
    assert result.exit_code == 2
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "observations[0].unit" in result.output
    assert "furlongs" in result.output


def test_validate_ok(tmp_path: Path) -> None:
    path = _write_record(tmp_path / "r.json")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "OK: 1 patient(s), 23 observation(s), 1 event(s)" in result.output


def test_grade_writes_one_row_per_patient(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for pid in ("a", "b", "c"):
        _write_record(folder / f"{pid}.json", patient_id=pid)
    out = tmp_path / "results.csv"
    result = runner.invoke(app, ["grade", str(folder), "--out", str(out), "--as-of", "25"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["patient_id"] for r in rows] == ["a", "b", "c"]
    assert {
        "early_icaht",
        "late_ticaht",
        "phenotype",
        "ctcae_neutrophils_early",
        "car_hematotox",
    } <= set(rows[0])
    assert rows[0]["ctcae_neutrophils_early"] == "4"  # ANC 0.02 < 0.5 (CTCAE v5 grade 4)
    assert not (tmp_path / "results.csv.partial").exists()


def test_score_hematotox_with_units() -> None:
    """Jain case 1 pre-LD values (docs/evidence.md 1.6) with CRP/ferritin supplied:
    PLT 125 -> 1, ANC 0.99 -> 1, Hb 9.5 -> 0, CRP 40 mg/L = 4.0 mg/dL -> 1, ferritin 700 -> 1."""
    result = runner.invoke(
        app,
        [
            "score",
            "hematotox",
            "--plt",
            "125",
            "--anc",
            "990",
            "--anc-unit",
            "/uL",
            "--hb",
            "95",
            "--hb-unit",
            "g/L",
            "--crp",
            "40",
            "--crp-unit",
            "mg/L",
            "--ferritin",
            "700",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "CAR-HEMATOTOX 4: high risk" in result.output
    missing = runner.invoke(app, ["score", "hematotox", "--plt", "200"])
    assert "not computable" in missing.output
    assert "anc" in missing.output
    bad = runner.invoke(app, ["score", "hematotox", "--plt", "200", "--plt-unit", "kg"])
    assert bad.exit_code != 0


def test_bad_profile_is_refused(tmp_path: Path) -> None:
    path = _write_record(tmp_path / "r.json")
    profile = tmp_path / "p.toml"
    profile.write_text('name = "x"\nversion = "1"\n[icaht]\nlate_rule = "median"\n')
    result = runner.invoke(app, ["assess", str(path), "--profile", str(profile)])
    assert result.exit_code == 2
    assert "icaht.late_rule" in result.output


def test_console_script_entry_point(tmp_path: Path) -> None:
    """The installed `icaht` script runs as a real process."""
    path = _write_record(tmp_path / "r.json")
    exe = Path(sys.executable).with_name("icaht")
    done = subprocess.run(
        [str(exe), "validate", str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "OK: 1 patient(s)" in done.stdout


def test_rules_markdown_and_json(tmp_path: Path) -> None:
    md = runner.invoke(app, ["rules"])
    assert md.exit_code == 0, md.output
    assert md.output.startswith("# icaht rule catalogue")
    js = runner.invoke(app, ["rules", "--format", "json", "--profile", "icaht-2023"])
    assert js.exit_code == 0, js.output
    assert json.loads(js.output)["profile"]["name"] == "icaht-2023"
    bad = runner.invoke(app, ["rules", "--format", "pdf"])
    assert bad.exit_code == 2


def test_replay_prints_days_and_respects_the_range(tmp_path: Path) -> None:
    record = {
        "patient": {"patient_id": "r1"},
        "observations": [
            {"day": d, "analyte": "anc", "value": 0.3, "unit": "10^9/L"} for d in range(0, 15)
        ],
        "events": [{"kind": "medication", "start": 5, "end": 6, "drug": "sargramostim"}],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    result = runner.invoke(app, ["replay", str(path), "--from", "0", "--to", "10"])
    assert result.exit_code == 0, result.output
    assert "+ [alert] Avoid GM-CSF after CAR-T (growth-factor.avoid-gm-csf)" in result.output
    # Day 7: the one G-CSF card changes state (GM-CSF stopped, ANC still <= 0.5): one decision,
    # so "changed", not one card gone and another come (docs/decisions.md, G-CSF).
    assert "~ [consider] Consider G-CSF" in result.output
    js = json.loads(runner.invoke(app, ["replay", str(path), "--format", "json"]).output)
    days = {d["day"]: d for d in js["days"]}
    assert "growth-factor.avoid-gm-csf" in [r["rule_id"] for r in days[5]["appeared"]]
    assert "growth-factor.consider-gcsf" in [r["rule_id"] for r in days[7]["changed"]]
    assert "growth-factor.avoid-gm-csf" not in days[7]["active"]
    short = runner.invoke(app, ["replay", str(path), "--to", "4", "--format", "json"])
    assert json.loads(short.output)["last_day"] == 4
    backwards = runner.invoke(app, ["replay", str(path), "--from", "9", "--to", "3"])
    assert backwards.exit_code == 2
    assert "before --from" in backwards.output


def test_an_invalid_profile_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    profile = tmp_path / "centre.toml"
    profile.write_text(
        'name = "centre"\nversion = "1"\n[tpo_ra]\nearliest_day = 2\n[gcsf]\nstart = 7\n',
        encoding="utf-8",
    )
    path = _write_record(tmp_path / "r.json")
    for command in (
        ["assess", str(path)],
        ["replay", str(path)],
        ["rules"],
        ["profile", "show"],
        ["validate", str(path)],
        ["grade", str(path), "--out", str(tmp_path / "o.csv")],
    ):
        result = runner.invoke(app, [*command, "--profile", str(profile)])
        assert result.exit_code == 2, (command, result.output)
        assert "tpo_ra.earliest_day" in result.output, command
        assert "gcsf.start: unknown setting" in result.output, command


def test_profile_show_lists_settings_with_sources() -> None:
    result = runner.invoke(app, ["profile", "show", "--profile", "icaht-2023"])
    assert result.exit_code == 0, result.output
    assert "`gcsf.prophylactic_for_high_hematotox` = True" in result.output


def test_db_upgrade_then_import_is_idempotent(tmp_path: Path) -> None:
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    examples = str(Path(__file__).resolve().parents[2] / "examples")
    refused = runner.invoke(app, ["db", "import", examples], env=env)
    assert refused.exit_code == 2
    assert "run `icaht db upgrade`" in refused.output
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    first = runner.invoke(app, ["db", "import", examples], env=env)
    assert first.exit_code == 0, first.output
    assert "5 created" in first.output
    again = runner.invoke(app, ["db", "import", examples], env=env)
    assert "0 created, 0 updated; observations 0 added" in again.output


def test_db_import_of_a_bad_file_names_it_and_writes_nothing(tmp_path: Path) -> None:
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    bad = _write_record(tmp_path / "bad.json", anc_unit="furlongs")
    result = runner.invoke(app, ["db", "import", str(bad)], env=env)
    assert result.exit_code == 2
    assert "bad.json" in result.output
    assert "furlongs" in result.output
    ok = runner.invoke(app, ["db", "import", str(_write_record(tmp_path / "ok.json"))], env=env)
    assert "1 created" in ok.output


def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    made = runner.invoke(
        app,
        ["user", "create", "ana", "--role", "clinician"],
        input="a long enough pw\na long enough pw\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    weak = runner.invoke(
        app, ["user", "create", "bo", "--role", "admin", "--password", "short"], env=env
    )
    assert weak.exit_code == 2
    assert "at least 12" in weak.output
    issued = runner.invoke(app, ["token", "create", "ana", "--name", "etl"], env=env)
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip().splitlines()[-1]
    assert secret.startswith("icaht_")
    assert runner.invoke(app, ["token", "revoke", "1"], env=env).exit_code == 0
    missing = runner.invoke(app, ["token", "revoke", "99"], env=env)
    assert missing.exit_code == 2
    assert "no token 99" in missing.output


def test_audit_export_lists_every_access(tmp_path: Path) -> None:
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    engine = make_engine(StoreSettings(data_dir=tmp_path / "data").url())
    with Session(engine) as session, session.begin():
        audit(session, actor="ana", action="read", patient_key="p1", remote="127.0.0.1")
        audit(session, actor="bo", action="assessment", patient_key="p2", detail={"as_of_day": 5})
    engine.dispose()
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(app, ["audit", "export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # issue 18 item 14: the CLI's own writes are audited too (here `db upgrade`, first)
    assert rows[0]["action"] == "db-upgrade"
    assert rows[0]["actor"].startswith("cli:")
    assert [(r["actor"], r["action"], r["patient_key"]) for r in rows[1:]] == [
        ("ana", "read", "p1"),
        ("bo", "assessment", "p2"),
    ]
    assert [r["prev_hash"] for r in rows[1:]] == [r["row_hash"] for r in rows[:-1]]
    table = tmp_path / "audit.csv"
    assert runner.invoke(app, ["audit", "export", "--out", str(table)], env=env).exit_code == 0
    parsed = list(csv.DictReader(table.open(encoding="utf-8")))
    assert json.loads(parsed[2]["detail"]) == {"as_of_day": 5}
    assert runner.invoke(app, ["audit", "export", "--out", "x.txt"], env=env).exit_code == 2


def test_db_import_of_a_tabular_set(tmp_path: Path) -> None:
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    folder = write_set(tmp_path / "set", "parquet", GOOD_PATIENTS, GOOD_OBSERVATIONS, GOOD_EVENTS)
    result = runner.invoke(app, ["db", "import", str(folder)], env=env)
    assert result.exit_code == 0, result.output
    assert f"3 patient(s): 3 created, 0 updated; observations {len(GOOD_OBSERVATIONS)}" in (
        result.output
    )


def _actions(data: Path) -> list[tuple[str, str | None, dict[str, Any]]]:
    engine = make_engine(StoreSettings(data_dir=data).url())
    with Session(engine) as session:
        rows = [(r["action"], r["patient_key"], r["detail"]) for r in audit_rows(session)]
        assert verify_chain(session).broken_at is None
    engine.dispose()
    return rows


def test_every_cli_write_is_audited(tmp_path: Path) -> None:
    """Issue 18 item 14: `db import` and every CLI write are in the audit log (none was), with
    a fact change's old and new values; the actor is the operating-system user."""
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    path = _write_record(tmp_path / "r.json")
    assert runner.invoke(app, ["db", "import", str(path)], env=env).exit_code == 0
    record = json.loads(path.read_text(encoding="utf-8"))
    record["patient"]["product"] = "tisa-cel"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert runner.invoke(app, ["db", "import", str(path)], env=env).exit_code == 0
    create = ["user", "create", "ana", "--role", "clinician", "--password", "a long password"]
    assert runner.invoke(app, create, env=env).exit_code == 0
    assert runner.invoke(app, ["token", "create", "ana", "--name", "etl"], env=env).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", "1"], env=env).exit_code == 0
    actions = _actions(tmp_path / "data")
    assert [a for a, _, _ in actions] == [
        "db-upgrade",
        "db-import",
        "facts-change",
        "db-import",
        "user-create",
        "token-create",
        "token-revoke",
    ]
    assert actions[1][2]["patient_keys"] == ["p1"]
    assert actions[2][1:] == ("p1", {"old": {"product": "axi-cel"}, "new": {"product": "tisa-cel"}})


def test_user_disable_enable_and_role(tmp_path: Path) -> None:
    """Issue 18 item 16: the README says an admin can disable a user or change a role."""
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    create = ["user", "create", "ana", "--role", "clinician", "--password", "a long password"]
    assert runner.invoke(app, create, env=env).exit_code == 0
    secret = runner.invoke(app, ["token", "create", "ana", "--name", "t"], env=env).stdout.strip()
    engine = make_engine(StoreSettings(data_dir=tmp_path / "data").url())

    def role_of_token() -> str | None:
        with Session(engine) as session:
            user = user_for_token(session, secret)
            return None if user is None else user.role

    assert runner.invoke(app, ["user", "disable", "ana"], env=env).exit_code == 0
    assert role_of_token() is None
    assert runner.invoke(app, ["user", "enable", "ana"], env=env).exit_code == 0
    assert role_of_token() == "clinician"
    assert runner.invoke(app, ["user", "role", "ana", "researcher"], env=env).exit_code == 0
    assert role_of_token() == "researcher"
    unknown = runner.invoke(app, ["user", "role", "ana", "root"], env=env)
    assert unknown.exit_code == 2
    assert "unknown role" in unknown.output
    assert runner.invoke(app, ["user", "disable", "nobody"], env=env).exit_code == 2
    engine.dispose()
    actions = [(a, d) for a, _, d in _actions(tmp_path / "data") if a.startswith("user-")]
    assert actions[1:] == [
        ("user-disable", {"user": "ana", "changed": True}),
        ("user-enable", {"user": "ana", "changed": True}),
        ("user-role", {"user": "ana", "old": "clinician", "new": "researcher"}),
    ]


def test_db_restore_brings_a_deleted_patient_back(tmp_path: Path) -> None:
    """Issue 18 item 3: a deleted patient's re-import is refused until an admin restores it."""
    env = {"ICAHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    path = _write_record(tmp_path / "r.json")
    assert runner.invoke(app, ["db", "import", str(path)], env=env).exit_code == 0
    engine = make_engine(StoreSettings(data_dir=tmp_path / "data").url())
    with Session(engine) as session, session.begin():
        session.execute(update(Patient).values(deleted_at=datetime.now(UTC)))
    engine.dispose()
    refused = runner.invoke(app, ["db", "import", str(path)], env=env)
    assert refused.exit_code == 2
    assert "deleted by an admin" in refused.output
    assert runner.invoke(app, ["db", "restore", "p1"], env=env).exit_code == 0
    assert runner.invoke(app, ["db", "restore", "p1"], env=env).exit_code == 2
    assert runner.invoke(app, ["db", "import", str(path)], env=env).exit_code == 0
    assert ("restore", "p1") in [(a, k) for a, k, _ in _actions(tmp_path / "data")]


def test_cohort_assess_takes_as_of_like_every_command(tmp_path: Path) -> None:
    """One as-of vocabulary (issue 19, docs/architecture.md "As-of"): ``--as-of`` everywhere."""
    folder = tmp_path / "records"
    folder.mkdir()
    _write_record(folder / "r.json")
    out = tmp_path / "rows.parquet"
    args = ["cohort", "assess", str(folder), "--out", str(out), "--workers", "1", "--as-of", "12"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("as_of_day").to_pylist() == [12]


def test_a_date_as_of_without_an_infusion_date_is_a_clear_error(tmp_path: Path) -> None:
    """Bad input gets a clear error naming the value, not a traceback (the record counts in
    days after infusion and has no infusion_date)."""
    path = _write_record(tmp_path / "r.json")
    result = runner.invoke(app, ["assess", str(path), "--as-of", "2024-01-01T10:00"])
    assert result.exit_code == 2
    assert "no infusion_date" in result.output
    assert "2024-01-01T10:00:00" in result.output
    assert "Traceback" not in result.output
