"""The Spark cohort engine: the same per-patient function on Apache Spark (``applyInPandas``).

For data lakes beyond one machine. The three tables of a tabular set are read by Spark, tagged
(``_table``; column names prefixed ``p_``/``o_``/``e_`` so they cannot clash) and unioned; the
rows are grouped by trimmed ``patient_id`` and each group (one patient with all its rows) goes
through ``applyInPandas`` to :func:`assess_group`, which rebuilds the patient's Arrow tables with
the original column types and calls the local engine's code: the same validation and rejection
(:func:`icaht.cohort.batch.courses_from_tables`) and the same row function
(:func:`icaht.cohort.results.cohort_row`). So results are identical to the local engine's. A
folder of JSON records is grouped by file. FHIR NDJSON input is not supported by this engine
(use the local engine).

Output: Spark writes the rows (sorted by ``patient_id``) and the rejections to a temporary
Parquet folder next to the results; they are streamed from there into ``results.parquet`` and
``errors.csv`` (atomic, as the local engine writes them). Original row numbers in errors come
from Parquet's ``_metadata.row_index``; CSV gives none (the row cell is empty).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console

from icaht.cohort.batch import (
    PartitionResult,
    Rejection,
    TableRows,
    assess_partition,
    courses_from_files,
    courses_from_tables,
    rejected_patients,
)
from icaht.cohort.local import ErrorsWriter, RunSummary, errors_path_for, profile_reference
from icaht.cohort.long_input import located, long_table_set
from icaht.cohort.results import RESULTS_SCHEMA, ResultsWriter
from icaht.errors import InputError, Problem
from icaht.io.long_table import LongTable
from icaht.io.tabular import find_table, is_tabular_folder
from icaht.knowledge.profile import DEFAULT_PROFILE, Profile, load_profile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_TABLES = (("patients", "p_"), ("observations", "o_"), ("events", "e_"))
_KEY, _TABLE, _ROW, _KIND = "_key", "_table", "_row", "_kind"
#: Columns added to the results columns for rejections (``_kind`` = "error").
_ERROR_FIELDS = (
    ("_error_source", pa.string()),
    ("_error_row", pa.int64()),
    ("_error_field", pa.string()),
    ("_error_value", pa.string()),
    ("_error_message", pa.string()),
    ("_error_orphan", pa.bool_()),
    ("_patients", pa.int64()),
)
OUTPUT_SCHEMA = pa.schema(
    [
        pa.field(_KIND, pa.string()),
        *(f.with_nullable(True) for f in RESULTS_SCHEMA),
        *(pa.field(n, t) for n, t in _ERROR_FIELDS),
    ]
)


def spark_session(cores: int | None = None, app: str = "icaht-cohort") -> SparkSession:
    """A local-mode session (``local[cores]``; all cores by default), UI off, few shuffle
    partitions, UTC session time zone (no shift of dates)."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - pyspark is heavy and optional

    n = cores or os.cpu_count() or 1
    # Spark's Python workers must import icaht: run them with this interpreter (its environment)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder: Any = SparkSession.builder
    return (  # type: ignore[no-any-return]
        builder.master(f"local[{n}]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * n)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


# -- per group (runs in Spark's Python workers) ---------------------------------------------------
_ARROW_TYPES: dict[str, pa.DataType] = {
    "StringType": pa.string(),
    "LongType": pa.int64(),
    "IntegerType": pa.int32(),
    "ShortType": pa.int16(),
    "ByteType": pa.int8(),
    "DoubleType": pa.float64(),
    "FloatType": pa.float32(),
    "BooleanType": pa.bool_(),
    "DateType": pa.date32(),
    "TimestampType": pa.timestamp("us", tz="UTC"),
    "TimestampNTZType": pa.timestamp("us"),
}


def _column(series: pd.Series[Any], kind: pa.DataType) -> pa.Array:
    """A pandas column back in its original Arrow type (pandas turns integers with nulls into
    floats; the cast restores them exactly)."""
    missing = series.isna().to_numpy(dtype=bool)
    array = pa.array(series.to_numpy(dtype=object), mask=missing, from_pandas=True)
    return array if array.type == kind else array.cast(kind)


def _group_tables(
    pdf: pd.DataFrame, columns: dict[str, list[tuple[str, str]]], sources: dict[str, str]
) -> dict[str, TableRows]:
    """The group's rows of each table, with the original names and types."""
    out: dict[str, TableRows] = {}
    for name, prefix in _TABLES:
        if name not in columns:
            continue
        rows = pdf[pdf[_TABLE] == name]
        table = pa.table(
            {
                column: _column(rows[prefix + column], _ARROW_TYPES.get(kind, pa.string()))
                for column, kind in columns[name]
            }
        )
        numbers = rows[_ROW].to_numpy(dtype=np.float64, na_value=np.nan)
        rows_array = np.where(np.isnan(numbers), 0, numbers).astype(np.int64)
        out[name] = TableRows(table, sources[name], rows_array)
    return out


def _output(result: PartitionResult) -> pd.DataFrame:
    """Results rows and rejections as one frame of :data:`OUTPUT_SCHEMA` columns."""
    rows = result.table.to_pylist()
    records: list[dict[str, Any]] = [{_KIND: "row", **row} for row in rows]
    for r in result.rejections:
        records.append(
            {
                _KIND: "error",
                "patient_id": r.patient_id,
                "_error_source": r.source,
                "_error_row": r.row or None,
                "_error_field": r.field,
                "_error_value": None if r.value is None else str(r.value),
                "_error_message": r.message,
                "_error_orphan": r.orphan,
            }
        )
    records.append({_KIND: "count", "_patients": result.patients})
    table = pa.Table.from_pylist(records, schema=OUTPUT_SCHEMA)
    return pd.DataFrame(
        {name: pd.Series(table[name].to_pylist(), dtype=object) for name in OUTPUT_SCHEMA.names}
    )


def assess_group(
    pdf: pd.DataFrame,
    columns: dict[str, list[tuple[str, str]]],
    sources: dict[str, str],
    as_of_day: int | None,
    profile: Profile,
) -> pd.DataFrame:
    """One patient group of a tabular set: validate, reject or assess (the local engine's code)."""
    tables = _group_tables(pdf, columns, sources)
    courses, rejections = courses_from_tables(
        tables["patients"], tables["observations"], tables.get("events")
    )
    result = assess_partition(courses, rejections, as_of_day, profile)
    result.patients = tables["patients"].table.num_rows
    return _output(result)


def assess_files_group(pdf: pd.DataFrame, as_of_day: int | None, profile: Profile) -> pd.DataFrame:
    """One record file (a group of a JSON-record folder)."""
    files = [Path(p) for p in pdf["path"].tolist()]
    courses, rejections = courses_from_files(files)
    result = assess_partition(courses, rejections, as_of_day, profile)
    result.patients = len(files)
    return _output(result)


# -- driver ---------------------------------------------------------------------------------------
def _spark_type(arrow: pa.DataType) -> str:
    if pa.types.is_string(arrow):
        return "string"
    if pa.types.is_int64(arrow):
        return "bigint"
    if pa.types.is_float64(arrow):
        return "double"
    if pa.types.is_boolean(arrow):
        return "boolean"
    raise TypeError(f"no Spark type for {arrow}")


def output_ddl() -> str:
    """:data:`OUTPUT_SCHEMA` as a Spark DDL schema string."""
    return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in OUTPUT_SCHEMA)


def _read(spark: SparkSession, path: Path) -> DataFrame:
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    if path.suffix == ".parquet":
        frame = spark.read.parquet(str(path))
        return frame.withColumn(_ROW, F.col("_metadata.row_index") + F.lit(1))
    frame = spark.read.option("header", True).csv(str(path))  # every column as text
    return frame.withColumn(_ROW, F.lit(None).cast("bigint"))


def _tabular_frame(
    spark: SparkSession, folder: Path, as_of_day: int | None, profile: str
) -> DataFrame:
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    paths = {name: find_table(folder, name) for name, _ in _TABLES}
    patients, observations = paths["patients"], paths["observations"]
    if patients is None or observations is None:
        missing = [n for n in ("patients", "observations") if paths[n] is None]
        raise InputError([Problem(str(folder), f"no {n}.csv or {n}.parquet") for n in missing])
    columns: dict[str, list[tuple[str, str]]] = {}
    sources: dict[str, str] = {}
    tagged: list[DataFrame] = []
    for name, prefix in _TABLES:
        path = paths[name]
        if path is None:
            continue
        frame = _read(spark, path)
        original = [f for f in frame.schema.fields if f.name != _ROW]
        if "patient_id" not in [f.name for f in original]:
            raise InputError([Problem(str(path), "missing column", field="patient_id")])
        columns[name] = [(f.name, type(f.dataType).__name__) for f in original]
        sources[name] = str(path)
        tagged.append(
            frame.select(
                F.trim(F.col("patient_id").cast("string")).alias(_KEY),
                F.lit(name).alias(_TABLE),
                F.col(_ROW),
                *(F.col(f"`{f.name}`").alias(prefix + f.name) for f in original),
            )
        )
    union = tagged[0]
    for frame in tagged[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        return assess_group(pdf, columns, sources, as_of_day, _profile(profile))

    return union.groupBy(_KEY).applyInPandas(per_group, schema=output_ddl())


def _files_frame(
    spark: SparkSession, folder: Path, as_of_day: int | None, profile: str
) -> DataFrame:
    files = sorted(str(p) for p in folder.glob("*.json") if p.is_file())
    if not files:
        raise InputError([Problem(str(folder), "no tables or *.json records in this folder")])
    frame = spark.createDataFrame([(f,) for f in files], "path string")

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        return assess_files_group(pdf, as_of_day, _profile(profile))

    return frame.groupBy("path").applyInPandas(per_group, schema=output_ddl())


_PROFILES: dict[str, Profile] = {}


def _profile(name: str) -> Profile:
    """The profile, loaded once per Python worker."""
    found = _PROFILES.get(name)
    if found is None:
        found = _PROFILES[name] = load_profile(name)
    return found


def assess_frame(
    spark: SparkSession, input_path: Path, as_of_day: int | None, profile: str
) -> DataFrame:
    """The lazy Spark frame of results rows, rejections and per-group patient counts."""
    if is_tabular_folder(input_path):
        return _tabular_frame(spark, input_path, as_of_day, profile)
    if input_path.is_dir() and any(input_path.glob("*.ndjson")):
        raise InputError(
            [Problem(str(input_path), "FHIR NDJSON input: use the local engine (--engine local)")]
        )
    if input_path.is_dir():
        return _files_frame(spark, input_path, as_of_day, profile)
    raise InputError([Problem(str(input_path), "expected a folder of tables or of records")])


def _batches(folder: Path) -> Iterator[pa.RecordBatch]:
    """Spark's part files in order (the frame was sorted, so this is the global order)."""
    for file in sorted(folder.glob("part-*.parquet")):
        yield from pq.ParquetFile(file).iter_batches()


def _rejections(table: pa.Table) -> list[Rejection]:
    return [
        Rejection(
            row["patient_id"],
            row["_error_source"],
            row["_error_row"],
            row["_error_field"],
            row["_error_value"],
            row["_error_message"],
            orphan=bool(row["_error_orphan"]),
        )
        for row in table.to_pylist()
    ]


def run_spark(
    input_path: Path,
    out: Path,
    *,
    as_of_day: int | None = None,
    profile: str = DEFAULT_PROFILE,
    cores: int | None = None,
    console: Console | None = None,
    spark: SparkSession | None = None,
    long_table: LongTable | None = None,
) -> RunSummary:
    """Assess every patient with Spark (a local session unless ``spark`` is given) into
    ``out`` and ``errors.csv`` next to it, as :func:`icaht.cohort.local.run_local` does (a
    ``long_table`` too)."""
    started = time.perf_counter()
    profile = profile_reference(profile)
    load_profile(profile)  # a bad profile fails before Spark starts
    out.parent.mkdir(parents=True, exist_ok=True)
    results_columns = list(RESULTS_SCHEMA.names)
    rejected: set[str | None] = set()
    orphans = patients = 0
    with ExitStack() as stack:
        rewritten = None
        if long_table is not None:
            rewritten = stack.enter_context(long_table_set(input_path, long_table, out.parent))
            input_path = Path(rewritten.folder)
        session = spark or spark_session(cores)
        frame = assess_frame(session, input_path, as_of_day, profile)
        work = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="icaht-spark-", dir=out.parent)
        )
        staged = Path(work) / "staged"
        if console is not None:
            console.print("spark: assessing ...", highlight=False)
        frame.orderBy(_KIND, "patient_id", "_error_source", "_error_row").write.parquet(str(staged))
        with ResultsWriter(out) as results, ErrorsWriter(errors_path_for(out)) as errors:
            for batch in _batches(staged):
                table = pa.Table.from_batches([batch])
                kind = table[_KIND]
                rows = table.filter(pc.equal(kind, "row")).select(results_columns)
                results.write(rows.cast(RESULTS_SCHEMA))
                errors_in = table.filter(pc.equal(kind, "error"))
                found = [located(r, rewritten) for r in _rejections(errors_in)]
                errors.write(found)
                rejected |= rejected_patients(found)
                orphans += sum(1 for r in found if r.orphan)
                counts = table.filter(pc.equal(kind, "count"))["_patients"]
                patients += int(pc.sum(counts).as_py() or 0)
            assessed, problems = results.rows, errors.count
    return RunSummary(
        out=out,
        errors_path=errors_path_for(out),
        engine=f"spark ({session.sparkContext.master})",
        strategy="Spark applyInPandas, one group per patient",
        patients=patients,
        assessed=assessed,
        rejected=len(rejected),
        orphan_rows=orphans,
        problems=problems,
        seconds=time.perf_counter() - started,
        warning=None if rewritten is None else rewritten.warning,
    )
