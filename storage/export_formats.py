"""Write export rows (storage/export.py) as JSONL, CSV or Parquet, typed by the data dictionary.

JSONL: one object per row; dates and times ISO 8601 (times with +00:00), lists as arrays.
CSV: UTF-8, header, RFC 4180 quoting with one rule on top: a null is an empty unquoted field and
every non-null text is quoted, so "" (a blank cell) and null (no cell) stay apart; booleans are
true/false, lists a JSON array. Parquet: Arrow types from the dictionary, schema_version in the file
metadata too.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import IO, Any, Iterable

from .export import columns, dictionary, schema_version

FORMATS = ("jsonl", "csv", "parquet")
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet"}
_PARQUET_BATCH = 2000


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: IO[bytes], dataset: str | None) -> int:
    """Write rows to a binary stream; returns how many. `dataset` None: free-form JSONL records."""
    if fmt == "jsonl":
        return _write_jsonl(rows, out)
    if dataset is None:
        raise ValueError(f"{fmt} needs a dataset")
    if fmt == "csv":
        return _write_csv(rows, out, dataset)
    if fmt == "parquet":
        return _write_parquet(rows, out, dataset)
    raise ValueError(f"unknown format {fmt!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _write_jsonl(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, default=_json_default).encode("utf-8") + b"\n")
        n += 1
    return n


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    return '"' + str(value).replace('"', '""') + '"'


def _write_csv(rows: Iterable[dict[str, Any]], out: IO[bytes], dataset: str) -> int:
    names = [c["name"] for c in columns(dataset)]
    out.write((",".join(names) + "\r\n").encode("utf-8"))
    n = 0
    for row in rows:
        out.write((",".join(_csv_field(row[name]) for name in names) + "\r\n").encode("utf-8"))
        n += 1
    return n


def arrow_schema(dataset: str):  # type: ignore[no-untyped-def]
    """The dataset's pyarrow schema, with schema_version and the column descriptions as metadata."""
    import pyarrow as pa

    types = {
        "int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
        "string": pa.string(), "date32": pa.date32(), "timestamp[us, UTC]": pa.timestamp("us", tz="UTC"),
        "list<string>": pa.list_(pa.string()),
    }
    fields = [
        pa.field(c["name"], types[c["type"]], nullable=c["nullable"],
                 metadata={"description": c["description"]})
        for c in columns(dataset)
    ]
    return pa.schema(fields, metadata={
        "schema_version": str(schema_version()),
        "dataset": dataset,
        "description": dictionary()["datasets"][dataset]["description"],
    })


def _write_parquet(rows: Iterable[dict[str, Any]], out: IO[bytes], dataset: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(dataset)
    n = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _PARQUET_BATCH:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:  # an empty export still gets its schema
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
