"""Poisson arrivals in seconds with LMSYS-like or trace lengths, and a heavy-tailed variant."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcsf_gym.core.predictions import Predictor
from mcsf_gym.workloads import validation
from mcsf_gym.workloads.arrivals import poisson_arrivals
from mcsf_gym.workloads.base import Scenario, build_scenario
from mcsf_gym.workloads.lengths import IntArray, LengthModel, clip_to_memory, make_lengths
from mcsf_gym.workloads.traces import OVERSIZE_POLICIES


@dataclass(frozen=True)
class PoissonWorkload:
    """Poisson arrivals at ``rate`` requests per second: the paper's real-trace setting.

    ``n`` requests arrive at the times of a Poisson process started at 0; their (prompt,
    output) pairs come from ``lengths``: ``"lmsys"`` (an LMSYS-Chat-1M-like lognormal fit,
    :class:`~mcsf_gym.workloads.lengths.LogNormalLengths`) or ``"trace:PATH_OR_URL"``
    (pairs resampled with replacement from a trace file). The registered name ``lmsys`` is
    this workload with its default ``lengths="lmsys"``; the paper used 10k requests at
    ``rate`` 10 and 50 per second, ``M = 16492`` and the ``linear`` time model.

    Example:
        >>> from mcsf_gym.workloads import make_workload
        >>> workload = make_workload("lmsys:rate=50,n=10000")
        >>> workload.sample(np.random.default_rng(0)).instance.n
        10000

    Args:
        rate: arrivals per second, ``> 0``.
        n: number of requests, ``>= 1``.
        memory: ``M`` in tokens or a preset name (``"paper-llama2-70b"`` = 16492).
        lengths: ``"lmsys"`` or ``"trace:PATH_OR_URL"`` (read when the workload is built).
        on_oversize: for trace lengths, rows with ``prompt + output > M`` are an ``"error"``,
            are dropped (``"drop"``) or clipped (``"clip"``).
        prediction: prediction-model spec (``"exact"``, ``"noisy:eps=0.5"``, ...).
        time_model: time-model spec with real-valued arrivals (default ``"linear"``).
    """

    rate: float = 10.0
    n: int = 1000
    memory: int | str = 16492
    lengths: str = "lmsys"
    on_oversize: str = "error"
    prediction: str | Predictor = "exact"
    time_model: str = "linear"
    _lengths: LengthModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        normalised = {
            "rate": validation.number(owner, "rate", self.rate, positive=True),
            "n": validation.integer(owner, "n", self.n, 1),
            "memory": validation.memory(owner, self.memory),
            "on_oversize": validation.choice(
                owner, "on_oversize", self.on_oversize, OVERSIZE_POLICIES
            ),
            "prediction": validation.prediction(owner, self.prediction),
            "time_model": validation.time_model(owner, self.time_model, real_arrivals=True),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)
        try:
            lengths = make_lengths(self.lengths, int(self.memory), self.on_oversize)
        except ValueError as error:
            raise ValueError(f"{owner}: bad lengths {self.lengths!r} ({error})") from error
        object.__setattr__(self, "_lengths", lengths)

    def _draw_lengths(self, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        return self._lengths.sample(self.n, rng)

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Draw arrival times, then lengths, then predictions."""
        arrival = poisson_arrivals(self.n, self.rate, rng)
        prompt, output = self._draw_lengths(rng)
        return build_scenario(
            arrival,
            prompt,
            output,
            memory=int(self.memory),
            time_model=self.time_model,
            prediction=self.prediction,
            rng=rng,
        )


@dataclass(frozen=True)
class HeavyTailWorkload(PoissonWorkload):
    """Mostly ordinary requests, plus a fraction ``frac`` of extremely long ones.

    Arrivals and ordinary lengths are those of :class:`PoissonWorkload`. Then exactly
    ``round(frac * n)`` requests, chosen uniformly without replacement, become extreme: their
    output (``extreme="output"``), prompt (``"prompt"``) or both (``"both"``) are replaced by
    independent uniform integers in ``[long_min, long_max]``, and the pair is clipped to ``M``
    (prompt to ``M - 1``, output to ``M - prompt``). With the defaults one request in a hundred
    asks for 2000 to 8000 output tokens, against a median of 45 for the others: a shortest-first
    scheduler must not let them starve, and a FCFS one lets them block the queue.

    Args:
        rate: arrivals per second.
        n: number of requests.
        memory: ``M`` in tokens or a preset name.
        lengths: lengths of the ordinary requests (``"lmsys"`` or ``"trace:PATH_OR_URL"``).
        on_oversize: for trace lengths, see :class:`PoissonWorkload`.
        prediction: prediction-model spec.
        time_model: time-model spec with real-valued arrivals.
        frac: fraction of extreme requests, in ``[0, 1]``.
        extreme: which length is extreme: ``"output"``, ``"prompt"`` or ``"both"``.
        long_min: smallest extreme length, ``>= 1``.
        long_max: largest extreme length, ``>= long_min`` and ``< M``.
    """

    frac: float = 0.01
    extreme: str = "output"
    long_min: int = 2000
    long_max: int = 8000

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        object.__setattr__(self, "frac", validation.number(owner, "frac", self.frac, low=0, high=1))
        validation.choice(owner, "extreme", self.extreme, ("output", "prompt", "both"))
        long_min = validation.integer(owner, "long_min", self.long_min, 1)
        long_max = validation.integer(owner, "long_max", self.long_max, 1)
        validation.ordered(owner, "long_min", long_min, "long_max", long_max)
        if long_max >= int(self.memory):
            raise ValueError(
                f"{owner}: long_max must be < memory, got long_max={long_max}, memory={self.memory}"
            )
        object.__setattr__(self, "long_min", long_min)
        object.__setattr__(self, "long_max", long_max)

    def _draw_lengths(self, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        prompt, output = (array.copy() for array in super()._draw_lengths(rng))
        rows = rng.choice(self.n, size=round(self.frac * self.n), replace=False)
        if self.extreme in ("prompt", "both"):
            prompt[rows] = rng.integers(self.long_min, self.long_max + 1, size=rows.size)
        if self.extreme in ("output", "both"):
            output[rows] = rng.integers(self.long_min, self.long_max + 1, size=rows.size)
        return clip_to_memory(prompt, output, int(self.memory))
