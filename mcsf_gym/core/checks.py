"""Validation of scalar parameters: one clear ``ValueError`` naming the field and the value.

Every numeric parameter of the core (memory, seeds, eviction and prediction parameters, time
model coefficients) goes through these checks, so that a string, a boolean, ``NaN``, an infinity
or a number out of range is refused where it is given, never deep inside a run.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

#: The largest size in tokens (prompt, output, prediction, memory ``M``) the simulator accepts:
#: every sum and product of sizes it forms then stays exact in 64-bit integers.
MAX_TOKENS = 2**31 - 1

#: The latest arrival accepted (seconds, or rounds in the ``unit`` time model): times stay exact
#: to well under a microsecond in 64-bit floats.
MAX_ARRIVAL = 1e9


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(
    field: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``).

    Args:
        field: the parameter's name in messages (``"random eviction beta"``).
        value: what the user gave.
        low: the smallest allowed value (``None``: no bound).
        high: the largest allowed value (``None``: no bound).
        low_open: exclude ``low`` itself.

    Raises:
        ValueError: for a non-number (strings and booleans included), NaN, an infinity or a
            value out of range, naming ``field`` and the value.
    """
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(
            f"{field} must be a finite number{_range(low, high, low_open)}, got {value!r}"
        )
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    if too_low or (high is not None and number > high):
        raise ValueError(f"{field} must be{_range(low, high, low_open)}, got {value!r}")
    return number


def check_integer(
    field: str, value: Any, *, low: int | None = None, high: int | None = None
) -> int:
    """``value`` as an int in ``[low, high]``; integral floats such as ``3.0`` are accepted.

    Raises:
        ValueError: for a non-integer (strings, booleans and fractions included) or a value out
            of range, naming ``field`` and the value.
    """
    exact = _is_number(value) and (
        isinstance(value, numbers.Integral)
        or (math.isfinite(float(value)) and float(value).is_integer())
    )
    if not exact:
        raise ValueError(f"{field} must be an integer{_range(low, high, False)}, got {value!r}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{field} must be an integer{_range(low, high, False)}, got {value!r}")
    return number


def check_seed(value: Any, field: str = "seed") -> int | None:
    """A seed: ``None`` or an integer ``>= 0`` (what ``numpy.random.default_rng`` takes)."""
    if value is None:
        return None
    return check_integer(field, value, low=0)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range(low: float | None, high: float | None, low_open: bool) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {_number(low)}"  # type: ignore[arg-type]
    if low is None:
        return f" <= {_number(high)}"
    return f" in {'(' if low_open else '['}{_number(low)}, {_number(high)}]"
