"""Parameter checks shared by the workload dataclasses.

Every check raises ``ValueError`` naming the workload, the field and the value, and returns the
normalised value (for example ``n=1e4`` from a spec string becomes the integer ``10000``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NoReturn

from mcsf_gym.core.checks import MAX_TOKENS
from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.predictions import Predictor, make_predictor
from mcsf_gym.core.time_models import make_time_model


def fail(owner: str, field: str, value: Any, rule: str) -> NoReturn:
    """Raise the standard ``ValueError``: ``"<owner>: <field> must be <rule>, got <value>"``."""
    raise ValueError(f"{owner}: {field} must be {rule}, got {value!r}")


#: The most requests a workload may draw (``n``, ``n_min``, ``n_max``, ``burst``): ten million,
#: about 1 GB of arrays; more would exhaust memory before the first round.
MAX_REQUESTS = 10_000_000

_REQUEST_COUNTS = frozenset({"n", "n_min", "n_max", "burst"})


def integer(owner: str, field: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an ``int`` (integral floats accepted), at least ``minimum`` if given.

    At most :data:`MAX_REQUESTS` for a count of requests, :data:`MAX_TOKENS` otherwise.
    """
    maximum = MAX_REQUESTS if field in _REQUEST_COUNTS else MAX_TOKENS
    low = "" if minimum is None else f">= {minimum} and "
    rule = f"an integer {low}<= {maximum}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(owner, field, value, rule)
    if not math.isfinite(value) or value != int(value):
        fail(owner, field, value, rule)
    if (minimum is not None and value < minimum) or value > maximum:
        fail(owner, field, value, rule)
    return int(value)


def number(
    owner: str,
    field: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``> 0`` if ``positive``)."""
    parts = []
    if positive:
        parts.append("> 0")
    if low is not None:
        parts.append(f">= {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    rule = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(owner, field, value, rule)
    if (
        not math.isfinite(value)
        or (positive and value <= 0)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        fail(owner, field, value, rule)
    return float(value)


def choice(owner: str, field: str, value: Any, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options``."""
    allowed = tuple(options)
    if value not in allowed:
        fail(owner, field, value, "one of " + ", ".join(repr(option) for option in allowed))
    return str(value)


def ordered(owner: str, low_field: str, low: float, high_field: str, high: float) -> None:
    """Require ``low <= high`` for a pair of range fields."""
    if low > high:
        raise ValueError(
            f"{owner}: {low_field} must be <= {high_field}, got {low_field}={low!r} > "
            f"{high_field}={high!r}"
        )


def memory(owner: str, value: Any) -> int:
    """A memory size ``M`` (an integer or a preset name such as ``"paper-llama2-70b"``)."""
    try:
        return resolve_memory(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{owner}: bad memory {value!r} ({error})") from error


def prediction(owner: str, value: Any) -> str | Predictor:
    """A prediction-model spec (``"exact"``, ``"noisy:eps=0.5"``, ...) or model, checked."""
    try:
        make_predictor(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{owner}: bad prediction {value!r} ({error})") from error
    return value


def time_model(owner: str, value: Any, *, real_arrivals: bool) -> str:
    """A time-model spec, checked; ``real_arrivals`` rejects models that need integer rounds."""
    if not isinstance(value, str):
        fail(owner, "time_model", value, "a time-model spec string")
    try:
        model = make_time_model(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{owner}: bad time_model {value!r} ({error})") from error
    if real_arrivals and model.integer_arrivals:
        fail(owner, "time_model", value, "a model with real-valued arrivals such as 'linear'")
    return value
