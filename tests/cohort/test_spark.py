"""The Spark engine (pyspark local[2], Java 17) gives the local engine's results, row for row,
and the same rejections."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest
from tests.cohort.cohort_data import copy_as, first_row_of, make_cohort, results, set_cell
from typer.testing import CliRunner

from icaht.cli import app
from icaht.cli.cohort import EXIT_REJECTED
from icaht.cohort.local import run_local
from icaht.cohort.spark import run_spark, spark_session
from icaht.io.long_table import LongTable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# pyspark (dev extra) and a Java runtime (scripts/system-deps) are installed by `make test`: these
# tests never skip.

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = spark_session(cores=2, app="icaht-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return sorted(csv.DictReader(handle), key=lambda e: (e["patient_id"], e["row"]))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 patients in patient order; P000005 has an observation in an unknown unit."""
    folder = make_cohort(tmp_path_factory.mktemp("spark") / "set", patients=16, chunk=4)
    set_cell(folder, "observations", first_row_of(folder, "observations", "P000005"), "unit", "?")
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_spark_equals_local(spark: SparkSession, cohort: Path, tmp_path: Path, fmt: str) -> None:
    source = cohort if fmt == "parquet" else copy_as(cohort, tmp_path / "csv", fmt="csv")
    local = run_local(source, tmp_path / "local" / "r.parquet", workers=1, target_rows=2000)
    distributed = run_spark(source, tmp_path / "spark" / "r.parquet", spark=spark)
    expected, got = results(local.out), results(distributed.out)
    assert got.num_rows == expected.num_rows == 15
    assert got.schema == expected.schema
    for a, b in zip(expected.to_pylist(), got.to_pylist(), strict=True):
        assert a == b
    assert got.equals(expected)
    assert (distributed.patients, distributed.assessed, distributed.rejected) == (16, 15, 1)
    spark_errors = _errors(distributed.errors_path)
    local_errors = _errors(local.errors_path)
    if fmt == "csv":  # Spark reads no row numbers from CSV
        assert [e["row"] for e in spark_errors] == [""]
        for e in (*spark_errors, *local_errors):
            e["row"] = ""
    assert spark_errors == local_errors
    assert spark_errors[0]["patient_id"] == "P000005"


def test_spark_record_folder(spark: SparkSession, tmp_path: Path) -> None:
    local = run_local(EXAMPLES, tmp_path / "local" / "r.parquet", workers=1)
    distributed = run_spark(EXAMPLES, tmp_path / "spark" / "r.parquet", spark=spark)
    assert results(distributed.out).equals(results(local.out))
    assert distributed.complete


def test_cli_spark_engine(spark: SparkSession, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(
        app, ["cohort", "assess", str(cohort), "--out", str(out), "--engine", "spark"]
    )
    assert result.exit_code == EXIT_REJECTED, result.output
    assert "1 patient(s) rejected" in result.output
    assert "spark" in result.output
    assert pq.read_table(out).num_rows == 15


def test_spark_long_table_equals_local(spark: SparkSession, tmp_path: Path) -> None:
    """A long table (docs/tabular.md) with one bad value: the same rows and the same error,
    naming the long table's file, row, column and value, from both engines."""
    text = (EXAMPLES / "long-table" / "anc.csv").read_text(encoding="utf-8")
    bad = tmp_path / "anc.csv"
    bad.write_text(text.replace("2024-03-05,80,", "2024-03-05,x80,", 1), encoding="utf-8")
    spec = LongTable(unit="cells/uL")
    local = run_local(bad, tmp_path / "local" / "r.parquet", workers=1, long_table=spec)
    distributed = run_spark(bad, tmp_path / "spark" / "r.parquet", spark=spark, long_table=spec)
    assert results(distributed.out).equals(results(local.out))
    assert results(local.out).num_rows == 2
    errors = _errors(distributed.errors_path)
    assert errors == _errors(local.errors_path)
    assert [(e["source"], e["row"], e["field"], e["value"]) for e in errors] == [
        (str(bad), "3", "anc", "x80")
    ]
