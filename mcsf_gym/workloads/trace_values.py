"""Parse one trace cell: a token count, or an arrival time (a number in a unit, or a date-time).

Every parser refuses what it cannot represent exactly with a ``ValueError`` naming the source,
the line, the column and the value: a token count must be an integer in ``[1, MAX_TOKENS]``
(``1e30`` is refused, never wrapped), a numeric time must be finite, a date-time offset must be a
real one (``+99:99`` is refused).
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import datetime
from typing import Any

from mcsf_gym.core.checks import MAX_TOKENS

TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
"""Units of numeric timestamps, as seconds per unit."""

_INTEGER = re.compile(r"\s*\+?[0-9]+\s*")
_DECIMAL = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
_DATETIME = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?\s*",
    re.IGNORECASE,
)


def _where(source: str, line: int) -> str:
    return f"{source}, line {line}"


def _number(value: Any) -> float | int | None:
    """``value`` as an int or float if it is a JSON/CSV number (text in plain ASCII notation)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        if _INTEGER.fullmatch(value):
            try:
                return int(value)
            except ValueError:  # more digits than Python converts
                return None
        if _DECIMAL.fullmatch(value):
            return float(value)
    return None


def parse_tokens(value: Any, source: str, line: int, column: str) -> int:
    """A token count: an integer in ``[1, MAX_TOKENS]`` (integral floats such as ``"12.0"`` too).

    Raises:
        ValueError: naming the source, line, column and value otherwise.
    """
    number = _number(value)
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number) if abs(number) <= 2 * MAX_TOKENS else None
    if not isinstance(number, int) or not 1 <= number <= MAX_TOKENS:
        raise ValueError(
            f"{_where(source, line)}: bad {column} value {value!r:.80} (expected an integer in "
            f"[1, {MAX_TOKENS}])"
        )
    return number


def is_zero(value: Any) -> bool:
    """Whether a cell holds the number 0 (a failed request's output in BurstGPT)."""
    number = _number(value)
    return number is not None and number == 0


def parse_seconds(value: Any, unit: str, source: str, line: int, column: str) -> float | None:
    """A numeric timestamp in seconds (``value`` times the unit), or ``None`` if not a number.

    Raises:
        ValueError: for a number that is not finite, in the unit or in seconds.
    """
    number = _number(value)
    if number is None:
        return None
    seconds = float(number) * TIME_UNITS[unit] if math.isfinite(float(number)) else math.inf
    if not math.isfinite(seconds):
        raise ValueError(f"{_where(source, line)}: bad {column} value {value!r:.80} (not finite)")
    return seconds


def parse_datetime(value: Any, source: str, line: int, column: str) -> tuple[int, float]:
    """``(whole seconds since 1970 UTC, fraction)`` of a date-time string.

    Examples: ``"2023-11-16 18:15:46.6805900"``, ``"2024-05-10 00:00:00.009930+00:00"``.
    Any number of fractional digits; an optional ``Z`` or ``+hh:mm`` / ``-hhmm`` offset (hours
    at most 23, minutes at most 59); no offset means UTC.

    Raises:
        ValueError: naming the source, line, column and value for anything else.
    """
    match = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"{_where(source, line)}: bad {column} value {value!r:.80} (expected a number or a "
            "date-time like '2023-11-16 18:15:46.6805900')"
        )
    date, clock, fraction, zone = match.groups()
    try:
        moment = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError as error:
        raise ValueError(
            f"{_where(source, line)}: bad {column} value {value!r:.80} ({error})"
        ) from error
    offset = 0
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError(
                f"{_where(source, line)}: bad {column} value {value!r:.80} (time-zone offset "
                f"{zone} out of range: hours must be <= 23 and minutes <= 59)"
            )
        offset = (hours * 3600 + minutes * 60) * (1 if zone[0] == "+" else -1)
    seconds = calendar.timegm(moment.timetuple()) - offset
    return seconds, float("0." + fraction) if fraction else 0.0
