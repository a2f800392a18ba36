"""Trace formats: which columns (CSV) or keys (JSON lines) hold arrival, prompt and output.

Each format is a :class:`TraceFormat`; :func:`detect_format` picks one from a file's name and
first line, :func:`with_columns` applies a user's column mapping, and :func:`rows` yields the
raw cells of each request, with its line number, for the loader to parse.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mcsf_gym.workloads.trace_values import TIME_UNITS

FIELDS = ("arrival", "prompt", "output")
"""The three fields a trace row provides (arrival may be absent)."""

KINDS = ("csv", "jsonl")
"""How a trace is laid out: comma-separated values with a header, or one JSON object a line."""

_GENERIC = {
    "arrival": ("arrival", "arrived_at", "timestamp", "TIMESTAMP"),
    "prompt": ("prompt", "prompt_tokens", "num_prefill_tokens", "input_tokens", "ContextTokens"),
    "output": (
        "output",
        "output_tokens",
        "num_decode_tokens",
        "generated_tokens",
        "GeneratedTokens",
    ),
}


@dataclass(frozen=True)
class TraceFormat:
    """Where one trace format keeps each field.

    Attributes:
        name: the format's name (an entry of :data:`TRACE_FORMATS`).
        kind: ``"csv"`` or ``"jsonl"``.
        arrival: column or key names of the arrival time, first match wins (may be empty).
        prompt: column or key names of the prompt size in tokens.
        output: column or key names of the output length in tokens.
        arrival_required: whether a trace without an arrival column is an error.
        time_unit: the unit of numeric timestamps (a key of ``TIME_UNITS``).
        drop_failed: whether a row with 0 output tokens is a failed request to drop and count
            (BurstGPT) rather than an error.
        description: what the format is, for messages and docs.
    """

    name: str
    kind: str
    arrival: tuple[str, ...]
    prompt: tuple[str, ...]
    output: tuple[str, ...]
    arrival_required: bool = False
    time_unit: str = "s"
    drop_failed: bool = False
    description: str = ""

    def names(self, field: str) -> tuple[str, ...]:
        """The column or key names of ``field`` (one of :data:`FIELDS`)."""
        return {"arrival": self.arrival, "prompt": self.prompt, "output": self.output}[field]


TRACE_FORMATS: dict[str, TraceFormat] = {
    spec.name: spec
    for spec in (
        TraceFormat(
            "vidur",
            "csv",
            ("arrived_at",),
            ("num_prefill_tokens",),
            ("num_decode_tokens",),
            description="Vidur's processed traces (arrived_at in seconds, optional)",
        ),
        TraceFormat(
            "azure",
            "csv",
            ("TIMESTAMP",),
            ("ContextTokens",),
            ("GeneratedTokens",),
            arrival_required=True,
            description="Azure LLM inference traces 2023 and 2024 (Splitwise, DynamoLLM): "
            "TIMESTAMP as a date-time or seconds",
        ),
        TraceFormat(
            "burstgpt",
            "csv",
            ("Timestamp",),
            ("Request tokens",),
            ("Response tokens",),
            arrival_required=True,
            drop_failed=True,
            description="BurstGPT (Timestamp in seconds; 0 response tokens = a failed request)",
        ),
        TraceFormat(
            "mooncake",
            "jsonl",
            ("timestamp",),
            ("input_length",),
            ("output_length",),
            time_unit="ms",
            description="Mooncake's JSON lines (timestamp in milliseconds; hash_ids ignored)",
        ),
        TraceFormat(
            "csv",
            "csv",
            _GENERIC["arrival"],
            _GENERIC["prompt"],
            _GENERIC["output"],
            description="any CSV whose header names the fields (or give columns=)",
        ),
        TraceFormat(
            "jsonl",
            "jsonl",
            _GENERIC["arrival"],
            _GENERIC["prompt"],
            _GENERIC["output"],
            description="any JSON lines whose keys name the fields (or give columns=)",
        ),
    )
}
"""The formats :func:`~mcsf_gym.workloads.traces.load_trace` reads, by name."""

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CSV_DETECTION = ("azure", "burstgpt", "vidur", "csv")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _csv_header(text: str, source: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as error:
        raise ValueError(f"{source}, line 1: malformed CSV header ({error})") from error


def _matches(spec: TraceFormat, present: set[str]) -> bool:
    """Whether the lower-cased column/key names ``present`` hold ``spec``'s token fields."""
    return all(any(name.lower() in present for name in spec.names(field)) for field in FIELDS[1:])


def detect_format(source: str, text: str) -> TraceFormat:
    """The format of a trace from its name and first line.

    JSON lines for a ``.jsonl``/``.ndjson``/``.json`` name (``.gz`` allowed) or text starting
    with ``{``: Mooncake if the first object has ``input_length`` and ``output_length``, else
    generic. CSV otherwise: Azure, BurstGPT, Vidur or generic by the header.

    Raises:
        ValueError: if no format fits, listing the expected columns of each.
    """
    if kind_of(source, text) == "jsonl":
        first = next((line for line in _LINE_BREAK.split(text) if line.strip()), "")
        try:
            record = json.loads(first)
        except (ValueError, RecursionError):
            record = None
        keys = {key.lower() for key in record} if isinstance(record, dict) else set()
        return TRACE_FORMATS["mooncake" if _matches(TRACE_FORMATS["mooncake"], keys) else "jsonl"]
    header = _csv_header(text, source)
    present = {column.strip().lower() for column in header}
    for name in _CSV_DETECTION:
        if _matches(TRACE_FORMATS[name], present):
            return TRACE_FORMATS[name]
    expected = "; ".join(
        f"{name}: {','.join(spec.arrival[:1] + spec.prompt[:1] + spec.output[:1])}"
        for name, spec in TRACE_FORMATS.items()
        if name in _CSV_DETECTION[:3]
    )
    raise ValueError(
        f"trace {source!r}: cannot tell the format from the header {header!r:.200}; expected "
        f"the columns of one of {expected} (or pass columns={{'arrival': ..., 'prompt': ..., "
        "'output': ...}}, or format='jsonl' for JSON lines)"
    )


def kind_of(source: str, text: str) -> str:
    """``"jsonl"`` or ``"csv"`` for a trace, by its name or its first character."""
    base = source.lower().split("?", 1)[0].removesuffix(".gz")
    return "jsonl" if base.endswith(_JSONL_SUFFIXES) or text.lstrip().startswith("{") else "csv"


def with_columns(spec: TraceFormat, columns: Mapping[str, Any]) -> TraceFormat:
    """``spec`` with the column (or key) names a user gave for some fields.

    Args:
        spec: the format to start from.
        columns: ``{"arrival": NAME or None, "prompt": NAME, "output": NAME}``, any subset;
            ``"arrival": None`` reads no arrival times.

    Raises:
        ValueError: for an unknown field or a name that is not a non-empty string.
    """
    if not isinstance(columns, Mapping):
        raise ValueError(
            f"columns must be a mapping of {', '.join(FIELDS)} to column names, got {columns!r}"
        )
    changes: dict[str, Any] = {}
    for field, name in columns.items():
        if field not in FIELDS:
            raise ValueError(f"columns: unknown field {field!r}; known fields: {', '.join(FIELDS)}")
        if name is None and field == "arrival":
            changes["arrival"], changes["arrival_required"] = (), False
            continue
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"columns: {field} must be a non-empty column name, got {name!r}")
        changes[field] = (name.strip(),)
    return dataclasses.replace(spec, name=spec.name + " (mapped)", **changes)


def check_time_unit(unit: Any) -> str:
    """``unit`` if it is a known time unit.

    Raises:
        ValueError: listing the known units otherwise.
    """
    if not isinstance(unit, str) or unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {unit!r}")
    return unit


Row = tuple[int, Any, Any, Any]
"""A raw row: (line number, arrival cell or None, prompt cell, output cell)."""


def rows(text: str, source: str, spec: TraceFormat) -> Iterator[Row]:
    """The raw cells of every request of a trace, in file order.

    Raises:
        ValueError: for malformed CSV or JSON, or a missing column or key (listing the
            expected names).
    """
    if spec.kind == "jsonl":
        yield from _jsonl_rows(text, source, spec)
    else:
        yield from _csv_rows(text, source, spec)


def _expected(spec: TraceFormat) -> str:
    return "; ".join(f"{field}: {'|'.join(spec.names(field)) or '(none)'}" for field in FIELDS)


def _csv_rows(text: str, source: str, spec: TraceFormat) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ValueError(f"{source}, line 1: malformed CSV header ({error})") from error
    if header is None:
        raise ValueError(f"trace {source!r} is empty; expected columns {_expected(spec)}")
    position = {column.strip().lower(): i for i, column in enumerate(header)}
    index = {
        field: next(
            (position[name.lower()] for name in spec.names(field) if name.lower() in position),
            None,
        )
        for field in FIELDS
    }
    missing = [
        field
        for field in FIELDS
        if index[field] is None and (field != "arrival" or spec.arrival_required)
    ]
    if missing:
        raise ValueError(
            f"trace {source!r} ({spec.name} CSV) lacks the {' and '.join(missing)} column(s); "
            f"expected columns {_expected(spec)}"
            + ("" if spec.arrival_required else " (arrival optional)")
            + f"; the header is {header!r:.200}"
        )
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            cells = []
            for field in FIELDS:
                i = index[field]
                if i is not None and i >= len(row):
                    raise ValueError(
                        f"{source}, line {reader.line_num}: no value for the {field} column "
                        f"{header[i]!r} (the row has {len(row)} field(s))"
                    )
                cells.append(None if i is None else row[i])
            yield reader.line_num, cells[0], cells[1], cells[2]
    except csv.Error as error:
        raise ValueError(f"{source}, line {reader.line_num}: malformed CSV ({error})") from error


def _jsonl_rows(text: str, source: str, spec: TraceFormat) -> Iterator[Row]:
    for line, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except RecursionError:
            raise ValueError(f"{source}, line {line}: JSON nested too deeply") from None
        except ValueError as error:
            raise ValueError(f"{source}, line {line}: bad JSON {raw!r:.80} ({error})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{source}, line {line}: expected a JSON object, got {raw!r:.80}")
        cells = []
        for field in FIELDS:
            key = next((key for key in spec.names(field) if key in record), None)
            if key is None and (field != "arrival" or spec.arrival_required):
                got = ", ".join(map(str, record))
                raise ValueError(
                    f"{source}, line {line}: no {field} key; expected one of "
                    f"{', '.join(spec.names(field))} (got keys {got:.200})"
                )
            cells.append(None if key is None else record[key])
        yield line, cells[0], cells[1], cells[2]
