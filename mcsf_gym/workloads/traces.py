"""Load a request trace from a path or URL into an instance.

Read formats: Vidur, Azure (2023 and 2024), BurstGPT, Mooncake, or any CSV or JSON lines with a
column mapping.
Formats and their columns live in :mod:`mcsf_gym.workloads.trace_formats`, cell parsing in
:mod:`mcsf_gym.workloads.trace_values` and reading (with a total deadline for URLs) in
:mod:`mcsf_gym.workloads.trace_source`. Only the standard library and numpy are used.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from mcsf_gym.core.checks import MAX_ARRIVAL
from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.instance import Instance
from mcsf_gym.workloads.trace_formats import (
    TRACE_FORMATS,
    Row,
    TraceFormat,
    check_time_unit,
    detect_format,
    kind_of,
    rows,
    with_columns,
)
from mcsf_gym.workloads.trace_source import check_source, check_timeout, read_text
from mcsf_gym.workloads.trace_values import (
    is_zero,
    parse_datetime,
    parse_seconds,
    parse_tokens,
)

FORMATS = ("auto", *TRACE_FORMATS)
"""Trace formats :func:`load_trace` reads (``"auto"`` detects one of the others)."""

OVERSIZE_POLICIES = ("error", "drop", "clip")
"""What :func:`load_trace` does with a row whose ``prompt + output`` exceeds ``memory``."""

SLOW_TRACE = (7 * 86400.0, 0.01)
"""(span in s, requests/s): a trace longer than a week at under one request per 100 s is
warned about (typically milliseconds read as seconds)."""

FAST_TRACE = (1000, 1000.0)
"""(requests, requests/s): a trace of at least this many requests arriving faster than this
on average is warned about (typically seconds read as milliseconds)."""


class TraceTimeWarning(UserWarning):
    """A trace's arrival times look implausible for the time unit they were read in."""


@dataclass(frozen=True)
class TraceLoadResult:
    """A loaded trace and what the loader did to it.

    Attributes:
        instance: the requests, in arrival order (exact predictions).
        source: the path or URL read.
        format: the format read (a name of ``TRACE_FORMATS``, ``" (mapped)"`` added when
            ``columns`` renamed fields).
        rows: data rows read, including dropped ones.
        dropped: rows dropped because ``prompt + output > memory`` (``on_oversize="drop"``).
        clipped: rows clipped to fit ``memory`` (``on_oversize="clip"``).
        reordered: whether the rows were not in arrival order and had to be sorted.
        has_arrivals: whether the trace has arrival times (otherwise every arrival is 0).
        failed: rows dropped as failed requests (0 output tokens in a BurstGPT trace).
        time_unit: the unit numeric timestamps were read in (date-times need none).
    """

    instance: Instance
    source: str
    format: str
    rows: int
    dropped: int
    clipped: int
    reordered: bool
    has_arrivals: bool
    failed: int = 0
    time_unit: str = "s"


def load_trace(
    source: str | PathLike[str],
    *,
    format: str = "auto",
    memory: int | str | None = None,
    on_oversize: str = "error",
    time_scale: float = 1.0,
    limit: int | None = None,
    timeout: float = 60.0,
    columns: Mapping[str, str | None] | None = None,
    time_unit: str | None = None,
) -> TraceLoadResult:
    """Read a request trace into an :class:`~mcsf_gym.core.instance.Instance`.

    Formats (column names match case-insensitively in CSV; extra columns are ignored):
        - ``"vidur"``: CSV ``arrived_at,num_prefill_tokens,num_decode_tokens`` (Vidur's
          processed traces); ``arrived_at`` may be missing (length-only files): arrivals are 0.
        - ``"azure"``: CSV ``TIMESTAMP,ContextTokens,GeneratedTokens``, the Azure LLM inference
          traces of 2023 and 2024 (Splitwise, DynamoLLM). ``TIMESTAMP`` is a number or a
          date-time such as ``"2023-11-16 18:15:46.6805900"`` or
          ``"2024-05-10 00:00:00.009930+00:00"`` (no offset means UTC).
        - ``"burstgpt"``: CSV ``Timestamp,...,Request tokens,Response tokens,...`` (seconds).
          A row with 0 response tokens is a failed request: dropped and counted in ``failed``.
        - ``"mooncake"``: JSON lines ``{"timestamp": ms, "input_length": .., "output_length":
          .., "hash_ids": [..]}``; timestamps in milliseconds, ``hash_ids`` ignored.
        - ``"csv"`` / ``"jsonl"``: any CSV or JSON lines whose names (first match wins) are
          arrival ``arrival|arrived_at|timestamp|TIMESTAMP`` (optional), prompt
          ``prompt|prompt_tokens|num_prefill_tokens|input_tokens|ContextTokens``, output
          ``output|output_tokens|num_decode_tokens|generated_tokens|GeneratedTokens``.
        - ``"auto"`` (default): JSON lines for a ``.jsonl``/``.ndjson``/``.json`` name or text
          starting with ``{`` (Mooncake if the first object has ``input_length`` and
          ``output_length``); otherwise CSV, the format whose columns the header has. gzip
          input is detected and unpacked; LF, CRLF and CR line endings are all read.

    Arrival times become seconds from the earliest request (which arrives at 0), multiplied
    by ``time_scale``; rows are then sorted by arrival with a stable sort if they are not in
    order (``result.reordered``). A :class:`TraceTimeWarning` is issued when the arrivals look
    implausible for their unit (a week or more at under one request per 100 s: milliseconds
    read as seconds?; 1000 or more requests at over 1000 per second: seconds read as
    milliseconds?).

    Args:
        source: a local path or an ``http://``, ``https://`` or ``file://`` URL.
        format: one of :data:`FORMATS`.
        memory: ``M`` (int or preset name) to check ``prompt + output <= M`` against; ``None``
            skips the check.
        on_oversize: a row with ``prompt + output > memory`` is an ``"error"`` (default: the
            message counts every such row in the file), is dropped (``"drop"``), or is clipped
            (``"clip"``: prompt to at most ``M - 1``, then output to at most ``M - prompt``);
            the counts are in the result.
        time_scale: factor applied to arrival times (``0.5`` replays twice as fast), ``> 0``.
        limit: keep at most this many rows (the first ones in file order, after dropping).
        timeout: the total seconds a URL may take to arrive (not per read), ``> 0``.
        columns: the column (CSV) or key (JSON) names of some fields, overriding the
            format's: ``{"arrival": "ts", "prompt": "in", "output": "out"}``;
            ``"arrival": None`` ignores arrival times.
        time_unit: the unit of numeric timestamps, ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``;
            ``None``: the format's (milliseconds for Mooncake, seconds otherwise). Date-time
            strings need no unit.

    Returns:
        A :class:`TraceLoadResult` with the instance and the counts of dropped, clipped and
        failed rows.

    Raises:
        ValueError: for a source that is not a path or URL, an unreadable source or a download
            past ``timeout``, missing columns (listing the expected ones), a malformed row
            (naming the source, the line and the bad value), a token count that is not an
            integer in ``[1, 2**31 - 1]``, oversize rows with ``on_oversize="error"``, bad
            arguments, arrivals spanning more than the simulator accepts, or no rows left.
    """
    name = check_source(source)
    if not isinstance(format, str) or format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not isinstance(on_oversize, str) or on_oversize not in OVERSIZE_POLICIES:
        raise ValueError(
            f"on_oversize must be one of {', '.join(OVERSIZE_POLICIES)}, got {on_oversize!r}"
        )
    if isinstance(time_scale, bool) or not (
        isinstance(time_scale, (int, float)) and math.isfinite(time_scale) and time_scale > 0
    ):
        raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be an integer >= 1 or None, got {limit!r}")
    timeout = check_timeout(timeout)
    unit = None if time_unit is None else check_time_unit(time_unit)
    capacity = None if memory is None else resolve_memory(memory)
    text = read_text(name, timeout)
    spec = _choose_format(name, text, format, columns)
    unit = spec.time_unit if unit is None else unit
    reader = _Reader(name, spec, unit, capacity, on_oversize, limit)
    return reader.collect(rows(text, name, spec), float(time_scale))


def _choose_format(
    name: str, text: str, format: str, columns: Mapping[str, str | None] | None
) -> TraceFormat:
    if format != "auto":
        spec = TRACE_FORMATS[format]
    elif columns is None:
        spec = detect_format(name, text)
    else:
        try:
            spec = detect_format(name, text)
        except ValueError:
            spec = TRACE_FORMATS[kind_of(name, text)]
    return spec if columns is None else with_columns(spec, columns)


class _Reader:
    """Parses raw rows into requests, applying the oversize, failed and limit rules."""

    def __init__(
        self,
        name: str,
        spec: TraceFormat,
        unit: str,
        memory: int | None,
        on_oversize: str,
        limit: int | None,
    ) -> None:
        self.name, self.spec, self.unit = name, spec, unit
        self.memory, self.on_oversize, self.limit = memory, on_oversize, limit
        self.read = self.dropped = self.clipped = self.failed = self.oversize = 0
        self.first_oversize: tuple[int, int, int] | None = None
        self.has_arrivals: bool | None = None
        self.datetimes: bool | None = None
        self.whole: list[int] = []
        self.seconds: list[float] = []
        self.prompt: list[int] = []
        self.output: list[int] = []
        self.columns = [
            names[0] if names else field
            for field, names in (
                ("arrival", spec.arrival),
                ("prompt", spec.prompt),
                ("output", spec.output),
            )
        ]

    def collect(self, raw_rows: Iterator[Row], time_scale: float) -> TraceLoadResult:
        """Read every row (up to ``limit`` kept ones) and build the result."""
        for line, arrival, prompt, output in raw_rows:
            self._row(line, arrival, prompt, output)
            full = self.limit is not None and len(self.prompt) >= self.limit
            if full and self.first_oversize is None:
                break
        self._refuse_oversize()
        if not self.prompt:
            notes = []
            if self.dropped:
                notes.append(f"{self.dropped} row(s) dropped as larger than memory {self.memory}")
            if self.failed:
                notes.append(f"{self.failed} failed request(s) with 0 output tokens dropped")
            raise ValueError(
                f"trace {self.name!r} has no requests" + (f" ({'; '.join(notes)})" if notes else "")
            )
        arrival = self._arrivals(time_scale)
        order = np.argsort(arrival, kind="stable")
        reordered = bool(np.any(order != np.arange(order.size)))
        instance = Instance(
            arrival[order],
            np.asarray(self.prompt, dtype=np.int64)[order],
            np.asarray(self.output, dtype=np.int64)[order],
            prediction=None,
        )
        return TraceLoadResult(
            instance=instance,
            source=self.name,
            format=self.spec.name,
            rows=self.read,
            dropped=self.dropped,
            clipped=self.clipped,
            reordered=reordered,
            has_arrivals=bool(self.has_arrivals),
            failed=self.failed,
            time_unit=self.unit,
        )

    def _row(self, line: int, arrival: Any, prompt: Any, output: Any) -> None:
        self.read += 1
        if self.has_arrivals is None:
            self.has_arrivals = arrival is not None
        if (arrival is not None) != self.has_arrivals:
            raise ValueError(
                f"{self.name}, line {line}: arrival {'missing' if self.has_arrivals else 'present'}"
                f" here but {'present' if self.has_arrivals else 'missing'} in the first row"
            )
        if self.spec.drop_failed and is_zero(output):
            self.failed += 1
            return
        columns = self.columns
        s = parse_tokens(prompt, self.name, line, columns[1])
        o = parse_tokens(output, self.name, line, columns[2])
        if self.memory is not None and s + o > self.memory:
            if self.on_oversize == "error":
                self.oversize += 1
                if self.first_oversize is None:
                    self.first_oversize = (line, s, o)
                return
            if self.on_oversize == "drop":
                self.dropped += 1
                return
            s = min(s, self.memory - 1)
            o = min(o, self.memory - s)
            self.clipped += 1
        if self.has_arrivals:
            self._arrival(line, arrival, columns[0])
        self.prompt.append(s)
        self.output.append(o)

    def _arrival(self, line: int, value: Any, column: str) -> None:
        seconds = parse_seconds(value, self.unit, self.name, line, column)
        if seconds is None:
            whole, fraction = parse_datetime(value, self.name, line, column)
        else:
            whole, fraction = 0, seconds
        is_datetime = seconds is None
        if self.datetimes is None:
            self.datetimes = is_datetime
        if is_datetime != self.datetimes:
            raise ValueError(
                f"{self.name}, line {line}: arrival {value!r:.80} mixes date-times and numbers"
            )
        self.whole.append(whole)
        self.seconds.append(fraction)

    def _refuse_oversize(self) -> None:
        if self.first_oversize is None:
            return
        line, s, o = self.first_oversize
        raise ValueError(
            f"{self.name}: {self.oversize} of the trace's {self.read} rows need prompt + output "
            f"> memory {self.memory} tokens (the first at line {line}: prompt {s} + output {o} "
            f"= {s + o}); pass on_oversize='drop' or 'clip' to load anyway"
        )

    def _arrivals(self, time_scale: float) -> np.ndarray:
        n = len(self.prompt)
        if not self.has_arrivals:
            return np.zeros(n)
        whole = np.asarray(self.whole, dtype=np.int64)
        with np.errstate(over="ignore", invalid="ignore"):
            arrival = (whole - whole.min()).astype(np.float64) + np.asarray(self.seconds)
            arrival = arrival - arrival.min()
        span = float(arrival.max())
        if not math.isfinite(span) or span * time_scale > MAX_ARRIVAL:
            raise ValueError(
                f"trace {self.name!r}: arrivals span {span:g} s (time unit {self.unit!r}, "
                f"time_scale {time_scale:g}), more than the {MAX_ARRIVAL:g} s the simulator "
                "accepts; check time_unit"
            )
        self._warn_if_implausible(n, span)
        return arrival * time_scale

    def _warn_if_implausible(self, n: int, span: float) -> None:
        rate = n / span if span > 0 else math.inf
        unit = "date-times" if self.datetimes else f"numbers in {self.unit!r}"
        if span >= SLOW_TRACE[0] and rate < SLOW_TRACE[1]:
            hint = "milliseconds read as seconds? pass time_unit='ms'"
        elif n >= FAST_TRACE[0] and rate > FAST_TRACE[1]:
            hint = "seconds read as milliseconds? pass time_unit='s'"
        else:
            return
        warnings.warn(
            f"trace {self.name!r}: {n} requests over {span:.6g} s ({span / 86400:.3g} days, "
            f"{rate:.3g} requests/s) with arrival times read as {unit}; {hint}",
            TraceTimeWarning,
            stacklevel=4,
        )
