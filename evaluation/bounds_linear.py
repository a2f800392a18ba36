"""A proven lower bound on every schedule's total latency in the ``linear`` time model.

docs/model.md section 6 ("Lower bounds in the linear time model"); the proofs are in
``docs/benchmark.md``. With the round duration ``base + per_request b + per_context C +
per_prefill P`` (ms) and ``d0 = base + per_request`` (a round holds at least one request),
three bounds hold for every schedule, online or offline, with or without evictions:

- isolation: request ``i`` needs ``o_i`` rounds of its own, each at least ``d0``; its first
  prefills ``s_i`` prompt tokens and its ``j``-th (``j >= 2``) carries ``j - 1`` produced
  tokens, so ``c_i - a_i >= o_i d0 + per_prefill s_i + per_context o_i (o_i - 1) / 2``.
- volume: a round lasts at least ``d0`` and holds at most ``M`` tokens, and request ``i`` holds
  ``vol_i = s_i o_i + o_i (o_i + 1) / 2`` token-rounds; giving it the share
  ``(s_i + j) / M`` of ``d0`` in each round is a preemptive one-machine schedule with release
  dates ``a_i`` and processing ``vol_i d0 / M``, so ``sum_i c_i`` is at least SRPT's.
- compute: rounds never overlap, and request ``i``'s own terms of the durations of its rounds
  add up to ``p_i = per_request o_i + per_prefill s_i + per_context o_i (o_i - 1) / 2``; those
  pieces form a preemptive one-machine schedule too, so ``sum_i c_i`` is at least SRPT's with
  processing ``p_i``.

Each sum (minus ``sum_i a_i``) bounds the total latency; the bound is the largest.
"""

from __future__ import annotations

import time

import numpy as np

from evaluation.hindsight.bounds import srpt_completions
from evaluation.hindsight.result import LowerBound
from mcsf_gym.core.config import resolve_memory
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.time_models import LinearTime, TimeModel, make_time_model

#: The bounds computed, in the order of :attr:`LowerBound.parts`.
PARTS = ("isolation", "volume", "compute")


def _linear(time_model: str | TimeModel) -> LinearTime:
    model = make_time_model(time_model)
    if not isinstance(model, LinearTime):
        raise ValueError(
            f"time_model must be a linear time model, got {time_model!r}; for unit time use "
            "evaluation.hindsight.hindsight_lower_bound"
        )
    return model


def linear_bound_parts(
    instance: Instance, memory: int | str, time_model: str | TimeModel = "linear"
) -> dict[str, float]:
    """The isolation, volume and compute bounds on the total latency, in seconds.

    Args:
        instance: the requests (arrivals in seconds; predictions are ignored).
        memory: KV-cache capacity ``M`` in tokens (or a preset name).
        time_model: a linear time model (spec or object).

    Raises:
        ValueError: for a time model that is not linear, a bad memory, or a request with
            ``prompt + output > M``.
    """
    model = _linear(time_model)
    capacity = resolve_memory(memory)
    instance.check_memory(capacity)
    prompt = instance.prompt.astype(np.float64)
    output = instance.output.astype(np.float64)
    arrival = instance.arrival.astype(np.float64)
    d0 = (model.base + model.per_request) / 1000.0
    context = model.per_context * output * (output - 1) / 2 / 1000.0
    prefill = model.per_prefill * prompt / 1000.0
    isolation = float((output * d0 + prefill + context).sum())
    volume = prompt * output + output * (output + 1) / 2
    volume_finish = srpt_completions(arrival, volume * d0 / capacity)
    work = model.per_request * output / 1000.0 + prefill + context
    compute_finish = srpt_completions(arrival, work)
    return {
        "isolation": isolation,
        "volume": float((volume_finish - arrival).sum()),
        "compute": float((compute_finish - arrival).sum()),
    }


def linear_lower_bound(
    instance: Instance, memory: int | str, time_model: str | TimeModel = "linear"
) -> LowerBound:
    """A proven lower bound on every schedule's total latency under ``linear`` time.

    Args:
        instance: the requests (arrivals in seconds; predictions are ignored).
        memory: KV-cache capacity ``M`` in tokens (or a preset name).
        time_model: a linear time model (spec such as ``"linear"`` or an object).

    Returns:
        A :class:`~evaluation.hindsight.result.LowerBound` in seconds whose ``method`` names
        the largest of :data:`PARTS` and whose ``parts`` holds all three.

    Raises:
        ValueError: as :func:`linear_bound_parts`.

    Example:
        >>> from mcsf_gym import Instance
        >>> bound = linear_lower_bound(Instance([0.0], [10], [2]), memory=100)
        >>> round(bound.bound, 6), bound.method    # 2 d0 + 10 * 0.378 ms + 1 * 0.0027 ms
        (0.094023, 'isolation')
    """
    began = time.perf_counter()
    parts = linear_bound_parts(instance, memory, time_model)
    method = max(PARTS, key=parts.__getitem__)
    return LowerBound(
        bound=parts[method], method=method, seconds=time.perf_counter() - began, parts=parts
    )
