"""The paper's synthetic instances (docs/model.md section 7): arrival models 1 and 2, unit time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.predictions import Predictor
from mcsf_gym.workloads import validation
from mcsf_gym.workloads.arrivals import poisson_rounds
from mcsf_gym.workloads.base import Scenario, build_scenario


@dataclass(frozen=True)
class _PaperSizes:
    """The size model shared by both arrival models (see :class:`PaperModel1`)."""

    n_min: int = 40
    n_max: int = 60
    n: int | None = None
    memory_min: int = 30
    memory_max: int = 50
    prompt_min: int = 1
    prompt_max: int = 5
    prediction: str | Predictor = "exact"

    @property
    def _owner(self) -> str:
        return type(self).__name__

    def __post_init__(self) -> None:
        owner = self._owner
        if self.n is not None:
            n = validation.integer(owner, "n", self.n, 1)
            object.__setattr__(self, "n", n)
            object.__setattr__(self, "n_min", n)
            object.__setattr__(self, "n_max", n)
        for name, minimum in (
            ("n_min", 1),
            ("n_max", 1),
            ("memory_min", 2),
            ("memory_max", 2),
            ("prompt_min", 1),
            ("prompt_max", 1),
        ):
            value = validation.integer(owner, name, getattr(self, name), minimum)
            object.__setattr__(self, name, value)
        validation.ordered(owner, "n_min", self.n_min, "n_max", self.n_max)
        validation.ordered(owner, "memory_min", self.memory_min, "memory_max", self.memory_max)
        validation.ordered(owner, "prompt_min", self.prompt_min, "prompt_max", self.prompt_max)
        if self.prompt_max >= self.memory_min:
            raise ValueError(
                f"{owner}: prompt_max must be < memory_min so every output can be >= 1, got "
                f"prompt_max={self.prompt_max}, memory_min={self.memory_min}"
            )
        validation.prediction(owner, self.prediction)

    def _draw_sizes(self, rng: np.random.Generator) -> tuple[int, int, NDArray[np.int64]]:
        """Draw ``M``, the instance's prompt size ``s``, ``n``, and outputs in ``[1, M - s]``."""
        memory = int(rng.integers(self.memory_min, self.memory_max + 1))
        prompt = int(rng.integers(self.prompt_min, self.prompt_max + 1))
        n = int(rng.integers(self.n_min, self.n_max + 1))
        output = rng.integers(1, memory - prompt + 1, size=n)
        return memory, prompt, output


@dataclass(frozen=True)
class PaperModel1(_PaperSizes):
    """The paper's synthetic arrival model 1: every request arrives at round 0 (unit time).

    Per instance (in this order, all from the generator passed to :meth:`sample`):
    ``M`` uniform integer in ``[memory_min, memory_max]`` (paper: [30, 50]); one prompt size
    ``s`` for all requests, uniform in ``[prompt_min, prompt_max]`` (paper: [1, 5]);
    ``n`` uniform in ``[n_min, n_max]`` (paper: about 40 to 60); each output ``o_i`` uniform
    in ``[1, M - s]``; then the predictions. The paper reports MC-SF / OPT 1.005 on average
    over 200 such instances (optimal on 114).

    Example:
        >>> from mcsf_gym.workloads import make_workload
        >>> scenario = make_workload("paper-model1:n=8").sample(np.random.default_rng(0))
        >>> scenario.instance.n, scenario.time_model
        (8, 'unit')

    Args:
        n_min: fewest requests, ``>= 1``.
        n_max: most requests, ``>= n_min``.
        n: if given, exactly this many requests (sets ``n_min = n_max = n``).
        memory_min: smallest ``M``.
        memory_max: largest ``M``.
        prompt_min: smallest prompt size ``s``, ``>= 1``.
        prompt_max: largest prompt size, ``< memory_min``.
        prediction: prediction-model spec (``"exact"``, ``"noisy:eps=0.5"``, ...).
    """

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Draw one instance (all arrivals at round 0)."""
        memory, prompt, output = self._draw_sizes(rng)
        n = output.size
        return build_scenario(
            np.zeros(n),
            np.full(n, prompt),
            output,
            memory=memory,
            time_model="unit",
            prediction=self.prediction,
            rng=rng,
        )


@dataclass(frozen=True)
class PaperModel2(_PaperSizes):
    """The paper's synthetic arrival model 2 (online stochastic arrivals), as a Poisson process.

    The paper says only "online stochastic arrivals"; this is our documented choice. Sizes
    are drawn exactly as in :class:`PaperModel1`. Requests then arrive in integer rounds:
    arrival times of a Poisson process with ``rate`` requests per round, floored (so each
    round receives a Poisson(``rate``) number of requests) and shifted so the first request
    arrives at round 0.

    Unless ``rate`` is given, it is set per instance so that the offered KV-cache load is
    ``load`` times the capacity: ``rate = load * M / w``, where
    ``w = E[sum_{j=1..o} (s + j)] = s E[o] + (E[o^2] + E[o]) / 2`` is the expected number of
    token-rounds a request holds, with ``o`` uniform in ``[1, K]``, ``K = M - s``,
    ``E[o] = (K + 1) / 2`` and ``E[o^2] = (K + 1)(2K + 1) / 6``. With the paper's sizes the
    default ``load=0.5`` gives 0.05 to 0.09 requests per round. Memory cannot be packed
    perfectly (MC-SF keeps about 55% of ``M`` in use on average here), so ``load=0.5`` already
    keeps a queue: over 40 seeds MC-SF's mean wait was 19 rounds, the last request finished
    1.10 times the arrival span, and MC-Benchmark's total latency was 1.27 times MC-SF's.
    ``load=0.3`` is lightly loaded (wait 6.5 rounds), ``load=0.9`` overloaded (the queue
    grows until the arrivals end; wait 72 rounds).

    Args:
        n_min: fewest requests.
        n_max: most requests.
        n: if given, exactly this many requests.
        memory_min: smallest ``M``.
        memory_max: largest ``M``.
        prompt_min: smallest prompt size ``s``.
        prompt_max: largest prompt size.
        prediction: prediction-model spec.
        load: offered load relative to the KV-cache capacity, ``> 0`` (used when ``rate`` is
            ``None``).
        rate: arrivals per round, ``> 0``; overrides ``load`` when given.
    """

    load: float = 0.5
    rate: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self, "load", validation.number(self._owner, "load", self.load, positive=True)
        )
        if self.rate is not None:
            rate = validation.number(self._owner, "rate", self.rate, positive=True)
            object.__setattr__(self, "rate", rate)

    def arrival_rate(self, memory: int, prompt: int) -> float:
        """Arrivals per round for an instance with ``M = memory`` and prompt size ``prompt``."""
        if self.rate is not None:
            return self.rate
        k = memory - prompt
        mean = (k + 1) / 2
        square = (k + 1) * (2 * k + 1) / 6
        held = prompt * mean + (square + mean) / 2
        return self.load * memory / held

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Draw one instance with Poisson arrivals in integer rounds."""
        memory, prompt, output = self._draw_sizes(rng)
        n = output.size
        arrival = poisson_rounds(n, self.arrival_rate(memory, prompt), rng)
        return build_scenario(
            arrival,
            np.full(n, prompt),
            output,
            memory=memory,
            time_model="unit",
            prediction=self.prediction,
            rng=rng,
        )
