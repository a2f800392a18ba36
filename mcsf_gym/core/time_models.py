"""How long a round lasts (docs/model.md section 3), as named presets, not buried constants."""

from __future__ import annotations

from dataclasses import dataclass

from mcsf_gym.core.checks import check_real
from mcsf_gym.registry import Registry


@dataclass(frozen=True)
class UnitTime:
    """Every round lasts exactly 1; arrivals are integer round indices (the paper's theory)."""

    name: str = "unit"
    integer_arrivals: bool = True

    def duration(self, batch: int, decoded: int, prefill: int) -> float:
        """Length of one round: always 1."""
        return 1.0

    @property
    def idle_duration(self) -> float:
        """How long an idle worker waits when a scheduler admits nothing: one round."""
        return 1.0


@dataclass(frozen=True)
class LinearTime:
    """A round lasts ``base + per_request * b + per_context * C + per_prefill * P`` milliseconds.

    ``b`` is the number of requests in the round, ``C`` the output tokens the round's decoding
    requests have produced so far, ``P`` the prompt tokens of the requests admitted for it.
    The defaults are the paper's fit for Llama2-70B on two A100s (from Vidur).

    Args:
        base: fixed cost of a round, ms.
        per_request: cost per request in the batch, ms.
        per_context: cost per already-produced output token of decoding requests, ms.
        per_prefill: cost per prompt token prefilled in the round, ms.
    """

    base: float = 44.6
    per_request: float = 0.52
    per_context: float = 0.0027
    per_prefill: float = 0.378
    name: str = "linear"
    integer_arrivals: bool = False

    def __post_init__(self) -> None:
        for field_name in ("base", "per_request", "per_context", "per_prefill"):
            value = check_real(
                f"linear time {field_name}",
                getattr(self, field_name),
                low=0,
                high=1e9,
                low_open=field_name == "base",
            )
            object.__setattr__(self, field_name, value)

    def duration(self, batch: int, decoded: int, prefill: int) -> float:
        """Length of one round in seconds."""
        return (
            self.base
            + self.per_request * batch
            + self.per_context * decoded
            + self.per_prefill * prefill
        ) / 1000.0

    @property
    def idle_duration(self) -> float:
        """How long an idle worker waits when a scheduler admits nothing: one empty round."""
        return self.base / 1000.0


TimeModel = UnitTime | LinearTime

LINEAR_PRESETS: dict[str, LinearTime] = {
    "llama2-70b-a100": LinearTime(),
}


def _linear(preset: str = "llama2-70b-a100", **coefficients: float) -> LinearTime:
    if preset not in LINEAR_PRESETS:
        raise ValueError(
            f"unknown linear time preset {preset!r}; known presets: {', '.join(LINEAR_PRESETS)}"
        )
    base = LINEAR_PRESETS[preset]
    values = {
        "base": base.base,
        "per_request": base.per_request,
        "per_context": base.per_context,
        "per_prefill": base.per_prefill,
    }
    unknown = set(coefficients) - set(values)
    if unknown:
        raise ValueError(f"unknown linear time coefficient(s) {sorted(unknown)}")
    values.update(coefficients)
    return LinearTime(**values)


TIME_MODELS: Registry[TimeModel] = Registry("time model")
TIME_MODELS.register("unit", UnitTime)
TIME_MODELS.register("linear", _linear)


def make_time_model(spec: str | TimeModel) -> TimeModel:
    """A time model from a spec (``"unit"``, ``"linear"``, ``"linear:base=40"``) or as given.

    Raises:
        ValueError: for an unknown name, a bad coefficient, or an object that is neither.
    """
    if isinstance(spec, (UnitTime, LinearTime)):
        return spec
    if not isinstance(spec, str):
        raise ValueError(
            f"time_model must be {' or '.join(map(repr, TIME_MODELS.names()))} (with optional "
            f"parameters) or a time model object, got {spec!r}"
        )
    return TIME_MODELS.make_shared(spec)  # frozen: one object per spec
