"""An adversarial-style instance family: one long request, then a burst it blocks (unit time).

This is our own construction from the model of docs/model.md, in the spirit of the paper's result
that no deterministic online algorithm has a constant competitive ratio under arbitrary
arrivals (arXiv 2502.07115). It is *not* the paper's proof instance, which we could not
consult; it is registered as ``adversarial-style`` for that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcsf_gym.core.predictions import Predictor
from mcsf_gym.workloads import validation
from mcsf_gym.workloads.base import Scenario, build_scenario


@dataclass(frozen=True)
class AdversarialWorkload:
    """One long request at round 0, then a burst of short requests that it blocks.

    The instance (``M = memory``, ``h = floor(M / 2)``, unit time):

    - request 0, the *long* one: prompt 1, output ``M - 1``, arrives at 0. Started at round
      ``p`` it holds ``2 + t - p`` tokens in the round that starts at ``t``, up to ``M``.
    - requests ``1..k`` (``k = burst``), the *burst*: prompt ``h - 1``, output 1, all arriving
      at round ``b = burst_time`` (default ``ceil(M / 2) - 1``). Two of them fill at most
      ``2h <= M`` tokens, so alone the worker serves two per round.

    Why it is hard: a scheduler that starts the long request as soon as it is alone (MC-SF,
    MC-Benchmark, FCFS, any work-conserving rule) holds ``b + 2 = ceil(M / 2) + 1`` tokens in
    the round at ``b``, so not even one burst request (``h`` tokens) fits until the long one
    completes at ``M - 1``: each of the ``k`` burst requests waits ``M - 1 - b ~ M / 2`` rounds.
    Its total latency (with exact or any predictions, as nothing else can run) is
    ``G = (M - 1) + sum_j (M - b + floor(j / 2))`` (:attr:`greedy_total_latency`). Holding the
    long request back until the burst is served gives
    ``W = sum_j (1 + floor(j / 2)) + b + floor(k / 2) + M - 1`` (:attr:`waiting_total_latency`),
    an upper bound on the hindsight optimum. ``G / W`` is about ``k M / 2`` over
    ``3 M / 2 + k^2 / 4``, largest for ``k ~ sqrt(6 M)``, where it is about ``sqrt(M / 6)``:
    with ``n = k + 1`` requests it grows like ``n / 6``, without bound. The default ``burst``
    is ``round(sqrt(6 M))``; at the default ``M = 100`` that is 24 requests and
    ``G / W = 1455 / 316 = 4.6``.

    A deterministic online algorithm that waits ``d`` rounds before starting a lone long
    request is beaten the same way by a burst at ``d + ceil(M / 2) - 1`` (set ``burst_time``)
    and, with ``burst=0``, loses ``d`` rounds on the long request alone. The instance does not
    adapt to the scheduler: that adaptive step is the proof's, not the workload's.

    The family is deterministic given its parameters; the generator passed to :meth:`sample`
    only draws the predictions.

    Args:
        memory: ``M``, ``>= 4``.
        burst: number of short requests ``k >= 0``; ``None`` means ``round(sqrt(6 M))``.
        burst_time: arrival round of the burst, ``>= 0``; ``None`` means ``ceil(M / 2) - 1``,
            the first round at which the long request (started at 0) blocks every burst
            request.
        prediction: prediction-model spec.
    """

    memory: int = 100
    burst: int | None = None
    burst_time: int | None = None
    prediction: str | Predictor = "exact"

    def __post_init__(self) -> None:
        owner = "adversarial-style"
        memory = validation.integer(owner, "memory", self.memory, 4)
        object.__setattr__(self, "memory", memory)
        burst = round(math.sqrt(6 * memory)) if self.burst is None else self.burst
        object.__setattr__(self, "burst", validation.integer(owner, "burst", burst, 0))
        burst_time = (memory + 1) // 2 - 1 if self.burst_time is None else self.burst_time
        object.__setattr__(
            self, "burst_time", validation.integer(owner, "burst_time", burst_time, 0)
        )
        validation.prediction(owner, self.prediction)

    @property
    def short_prompt(self) -> int:
        """Prompt size of a burst request: ``floor(M / 2) - 1``."""
        return int(self.memory) // 2 - 1

    @property
    def greedy_total_latency(self) -> int:
        """Total latency when the long request starts at 0 and the burst is served after it.

        The burst is served two per round from ``max(burst_time, M - 1)``, when the long
        request has completed; exact for ``burst_time >= ceil(M / 2) - 1`` (so the burst is
        blocked), which is checked.

        Raises:
            ValueError: for an earlier ``burst_time``, where part of the burst would fit.
        """
        memory, burst, start = self._sizes()
        if start < (memory + 1) // 2 - 1:
            raise ValueError(
                f"greedy_total_latency needs burst_time >= {(memory + 1) // 2 - 1}, got {start}"
            )
        wait = max(memory - 1 - start, 0)
        return memory - 1 + sum(wait + 1 + j // 2 for j in range(burst))

    @property
    def waiting_total_latency(self) -> int:
        """Total latency when the burst is served first, two per round from its arrival.

        The long request starts with the last burst round that leaves room for it, at
        ``burst_time + floor(burst / 2)``. The smaller of this and
        :attr:`greedy_total_latency` bounds the hindsight optimum from above.
        """
        memory, burst, start = self._sizes()
        if burst == 0:
            return memory - 1
        shorts = sum(1 + j // 2 for j in range(burst))
        return shorts + start + burst // 2 + memory - 1

    def _sizes(self) -> tuple[int, int, int]:
        return int(self.memory), int(self.burst or 0), int(self.burst_time or 0)

    def sample(self, rng: np.random.Generator) -> Scenario:
        """The instance (deterministic), with predictions drawn from ``rng``."""
        memory, burst, start = self._sizes()
        arrival = np.concatenate([[0.0], np.full(burst, float(start))])
        prompt = np.concatenate([[1], np.full(burst, self.short_prompt)])
        output = np.concatenate([[memory - 1], np.ones(burst, dtype=np.int64)])
        return build_scenario(
            arrival,
            prompt,
            output,
            memory=memory,
            time_model="unit",
            prediction=self.prediction,
            rng=rng,
        )
