"""Load request traces (Vidur CSV, Azure CSV, JSONL) from a path or URL into an instance.

Only the standard library (``csv``, ``json``, ``urllib``, ``gzip``) and numpy are used.
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import gzip
import io
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.instance import Instance

FORMATS = ("auto", "vidur", "azure", "jsonl")
"""Trace formats :func:`load_trace` reads (``"auto"`` detects one of the others)."""

OVERSIZE_POLICIES = ("error", "drop", "clip")
"""What :func:`load_trace` does with a row whose ``prompt + output`` exceeds ``memory``."""

CSV_COLUMNS: dict[str, tuple[str, str, str]] = {
    "vidur": ("arrived_at", "num_prefill_tokens", "num_decode_tokens"),
    "azure": ("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
}
"""CSV columns per format: (arrival, prompt tokens, output tokens)."""

JSONL_KEYS: dict[str, tuple[str, ...]] = {
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
"""JSONL keys accepted for each field, first match wins."""

_URL = re.compile(r"^(https?|file)://", re.IGNORECASE)
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TraceLoadResult:
    """A loaded trace and what the loader did to it.

    Attributes:
        instance: the requests, in arrival order (exact predictions).
        source: the path or URL read.
        format: the format read (``"vidur"``, ``"azure"`` or ``"jsonl"``).
        rows: data rows read, including dropped ones.
        dropped: rows dropped because ``prompt + output > memory`` (``on_oversize="drop"``).
        clipped: rows clipped to fit ``memory`` (``on_oversize="clip"``).
        reordered: whether the rows were not in arrival order and had to be sorted.
        has_arrivals: whether the trace has arrival times (otherwise every arrival is 0).
    """

    instance: Instance
    source: str
    format: str
    rows: int
    dropped: int
    clipped: int
    reordered: bool
    has_arrivals: bool


def load_trace(
    source: str | PathLike[str],
    *,
    format: str = "auto",
    memory: int | str | None = None,
    on_oversize: str = "error",
    time_scale: float = 1.0,
    limit: int | None = None,
    timeout: float = 60.0,
) -> TraceLoadResult:
    """Read a request trace into an :class:`~mcsf_gym.core.instance.Instance`.

    Formats:
        - ``"vidur"``: CSV with columns ``arrived_at,num_prefill_tokens,num_decode_tokens``
          (Vidur's processed traces). ``arrived_at`` may be missing (length-only files such
          as Vidur's arXiv summarisation lengths); every arrival is then 0.
        - ``"azure"``: CSV with columns ``TIMESTAMP,ContextTokens,GeneratedTokens`` (Azure
          Public Dataset). ``TIMESTAMP`` may be a number of seconds or a date-time string
          such as ``"2023-11-16 18:15:46.6805900"`` (any number of fractional digits, an
          optional ``Z`` or ``+hh:mm`` offset; no offset means UTC).
        - ``"jsonl"``: one JSON object per line, keys (first match wins) arrival:
          ``arrival|arrived_at|timestamp|TIMESTAMP`` (optional, number or date-time string),
          prompt: ``prompt|prompt_tokens|num_prefill_tokens|input_tokens|ContextTokens``,
          output: ``output|output_tokens|num_decode_tokens|generated_tokens|GeneratedTokens``.
        - ``"auto"``: JSONL for a ``.jsonl``/``.ndjson``/``.json`` name or text starting with
          ``{``; otherwise CSV, Azure or Vidur by the header. Column names match
          case-insensitively; extra columns are ignored; gzip input is detected and unpacked.

    Arrival times are converted to seconds from the earliest request (which arrives at 0),
    then multiplied by ``time_scale``. Rows are sorted by arrival with a stable sort when they
    are not already in order (``result.reordered`` says so), so ties keep file order.

    Args:
        source: a local path or an ``http://``, ``https://`` or ``file://`` URL.
        format: one of :data:`FORMATS`.
        memory: ``M`` (int or preset name) to check ``prompt + output <= M`` against; ``None``
            skips the check.
        on_oversize: a row with ``prompt + output > memory`` is an ``"error"`` (default),
            is dropped (``"drop"``), or is clipped (``"clip"``: prompt to at most ``M - 1``,
            then output to at most ``M - prompt``); the counts are in the result.
        time_scale: factor applied to arrival times (``0.5`` replays twice as fast), ``> 0``.
        limit: keep at most this many rows (the first ones in file order, after dropping).
        timeout: seconds to wait for a URL.

    Returns:
        A :class:`TraceLoadResult` with the instance and the counts of dropped/clipped rows.

    Raises:
        ValueError: for an unreadable source, missing columns (listing the expected ones), a
            malformed row (naming the source, the line and the bad value), a zero or negative
            token count, an oversize row with ``on_oversize="error"``, bad arguments, or a
            trace with no rows left.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if on_oversize not in OVERSIZE_POLICIES:
        raise ValueError(
            f"on_oversize must be one of {', '.join(OVERSIZE_POLICIES)}, got {on_oversize!r}"
        )
    if isinstance(time_scale, bool) or not (
        isinstance(time_scale, (int, float)) and math.isfinite(time_scale) and time_scale > 0
    ):
        raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be an integer >= 1 or None, got {limit!r}")
    capacity = None if memory is None else resolve_memory(memory)
    name = str(source)
    text = _read_text(source, timeout)
    if format == "auto":
        format = _detect_format(name, text)
    rows = _jsonl_rows(text, name) if format == "jsonl" else _csv_rows(text, name, format)
    return _collect(rows, name, format, capacity, on_oversize, float(time_scale), limit)


def _read_text(source: str | PathLike[str], timeout: float) -> str:
    """The decoded text of a path or URL (gzip unpacked, a UTF-8 byte-order mark removed)."""
    name = str(source)
    if isinstance(source, str) and _URL.match(source):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ValueError(f"could not read trace URL {name!r}: {error}") from error
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise ValueError(f"could not read trace file {name!r}: {error}") from error
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"trace {name!r}: broken gzip data ({error})") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"trace {name!r} is not UTF-8 text ({error})") from error


def _detect_format(name: str, text: str) -> str:
    base = name.lower().split("?", 1)[0].removesuffix(".gz")
    if base.endswith(_JSONL_SUFFIXES) or text.lstrip().startswith("{"):
        return "jsonl"
    header = next(csv.reader(io.StringIO(text)), [])
    columns = {column.strip().lower() for column in header}
    for candidate in ("azure", "vidur"):
        if {column.lower() for column in CSV_COLUMNS[candidate][1:]} <= columns:
            return candidate
    raise ValueError(
        f"trace {name!r}: cannot tell the format from the header {header!r}; expected columns "
        + " or ".join(",".join(columns) for columns in CSV_COLUMNS.values())
        + " (or give format='jsonl' for JSON lines)"
    )


Row = tuple[int, Any, Any, Any]
"""A raw row: (line number, arrival value or None, prompt value, output value)."""


def _csv_rows(text: str, name: str, format: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ValueError(f"{name}, line 1: malformed CSV header ({error})") from error
    expected = CSV_COLUMNS[format]
    if header is None:
        raise ValueError(f"trace {name!r} is empty; expected columns {','.join(expected)}")
    position = {column.strip().lower(): i for i, column in enumerate(header)}
    index = [position.get(column.lower()) for column in expected]
    optional_arrival = format == "vidur"
    missing = [
        column
        for column, i in zip(expected, index, strict=True)
        if i is None and not (optional_arrival and column == expected[0])
    ]
    if missing:
        raise ValueError(
            f"trace {name!r} ({format} CSV) lacks column(s) {', '.join(missing)}; expected "
            f"columns {','.join(expected)}" + (" (arrived_at optional)" if optional_arrival else "")
        )
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            values = []
            for column, i in zip(expected, index, strict=True):
                if i is None:
                    values.append(None)
                elif i >= len(row):
                    raise ValueError(
                        f"{name}, line {reader.line_num}: no value for column {column!r} "
                        f"(row has {len(row)} field(s): {row!r})"
                    )
                else:
                    values.append(row[i])
            yield reader.line_num, values[0], values[1], values[2]
    except csv.Error as error:
        raise ValueError(f"{name}, line {reader.line_num}: malformed CSV ({error})") from error


def _jsonl_rows(text: str, name: str) -> Iterator[Row]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name}, line {line}: bad JSON {raw[:80]!r} ({error})") from error
        if not isinstance(record, dict):
            raise ValueError(f"{name}, line {line}: expected a JSON object, got {raw[:80]!r}")
        values = []
        for field, keys in JSONL_KEYS.items():
            key = next((key for key in keys if key in record), None)
            if key is None and field != "arrival":
                raise ValueError(
                    f"{name}, line {line}: no {field} key; expected one of {', '.join(keys)} "
                    f"(got keys {', '.join(record)})"
                )
            values.append(None if key is None else record[key])
        yield line, values[0], values[1], values[2]


def _tokens(value: Any, name: str, line: int, column: str) -> int:
    """A token count ``>= 1`` (an integer, or an integral float such as ``"12.0"``)."""
    number = math.nan
    if not isinstance(value, bool):
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise ValueError(
            f"{name}, line {line}: bad {column} value {value!r} (expected an integer >= 1)"
        )
    return int(number)


def _timestamp(value: Any, name: str, line: int) -> tuple[bool, int, float]:
    """``(is_datetime, whole seconds, fraction)`` of a number or a date-time string."""
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if math.isfinite(number):
                return False, 0, number
    match = _DATETIME.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"{name}, line {line}: bad arrival value {value!r} (expected seconds or a date-time "
            "like '2023-11-16 18:15:46.6805900')"
        )
    date, clock, fraction, zone = match.groups()
    try:
        moment = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError as error:
        raise ValueError(f"{name}, line {line}: bad arrival value {value!r} ({error})") from error
    offset = 0
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * (1 if zone[0] == "+" else -1)
    seconds = calendar.timegm(moment.timetuple()) - offset
    return True, seconds, float("0." + fraction) if fraction else 0.0


def _collect(
    rows: Iterator[Row],
    name: str,
    format: str,
    memory: int | None,
    on_oversize: str,
    time_scale: float,
    limit: int | None,
) -> TraceLoadResult:
    columns = CSV_COLUMNS.get(format, ("arrival", "prompt", "output"))
    whole: list[int] = []
    fraction: list[float] = []
    prompt: list[int] = []
    output: list[int] = []
    kind: bool | None = None  # datetime arrivals?
    has_arrivals: bool | None = None
    read = dropped = clipped = 0
    for line, arrival_value, prompt_value, output_value in rows:
        read += 1
        if has_arrivals is None:
            has_arrivals = arrival_value is not None
        if (arrival_value is not None) != has_arrivals:
            raise ValueError(
                f"{name}, line {line}: arrival {'missing' if has_arrivals else 'present'} "
                f"here but {'present' if has_arrivals else 'missing'} in the first row"
            )
        s = _tokens(prompt_value, name, line, columns[1])
        o = _tokens(output_value, name, line, columns[2])
        if memory is not None and s + o > memory:
            if on_oversize == "error":
                raise ValueError(
                    f"{name}, line {line}: request needs prompt {s} + output {o} = {s + o} > "
                    f"memory {memory} tokens; pass on_oversize='drop' or 'clip' to load anyway"
                )
            if on_oversize == "drop":
                dropped += 1
                continue
            s = min(s, memory - 1)
            o = min(o, memory - s)
            clipped += 1
        if has_arrivals:
            is_datetime, seconds, part = _timestamp(arrival_value, name, line)
            if kind is None:
                kind = is_datetime
            if is_datetime != kind:
                raise ValueError(
                    f"{name}, line {line}: arrival {arrival_value!r} mixes date-times and "
                    "numbers of seconds"
                )
            whole.append(seconds)
            fraction.append(part)
        prompt.append(s)
        output.append(o)
        if limit is not None and len(prompt) >= limit:
            break
    if not prompt:
        raise ValueError(
            f"trace {name!r} has no requests"
            + (f" ({dropped} row(s) dropped as larger than memory {memory})" if dropped else "")
        )
    if has_arrivals:
        seconds = np.asarray(whole, dtype=np.int64)
        arrival = (seconds - seconds.min()).astype(np.float64) + np.asarray(fraction)
        arrival = (arrival - arrival.min()) * time_scale
    else:
        arrival = np.zeros(len(prompt))
    order = np.argsort(arrival, kind="stable")
    reordered = bool(np.any(order != np.arange(order.size)))
    instance = Instance(
        arrival[order], np.asarray(prompt)[order], np.asarray(output)[order], prediction=None
    )
    return TraceLoadResult(
        instance=instance,
        source=name,
        format=format,
        rows=read,
        dropped=dropped,
        clipped=clipped,
        reordered=reordered,
        has_arrivals=bool(has_arrivals),
    )
