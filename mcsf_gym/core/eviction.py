"""Eviction policies: which running requests to drop when a round would overflow ``M``.

docs/model.md section 4. A policy sees the running requests in admission order (oldest first), the
memory each would hold after the coming round, and how many tokens must be freed. The engine
applies the choice; an evicted request loses its KV cache and produced tokens and waits again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcsf_gym.core.checks import check_real
from mcsf_gym.registry import Registry

#: Passes of coin flips :class:`RandomEviction` makes one by one before it draws, for the
#: requests still running, the pass at which each would first be hit (the same distribution).
DIRECT_DRAW_AFTER = 64


@dataclass(frozen=True)
class ClearAll:
    """Evict every running request (the paper's α-protection greedy)."""

    name: str = "clear-all"

    def victims(
        self, running: Sequence[int], need: Sequence[int], excess: int, rng: np.random.Generator
    ) -> list[int]:
        """All running requests."""
        return list(running)


@dataclass(frozen=True)
class NewestFirst:
    """Evict the most recently admitted requests first until the round fits (vLLM's recompute)."""

    name: str = "newest-first"

    def victims(
        self, running: Sequence[int], need: Sequence[int], excess: int, rng: np.random.Generator
    ) -> list[int]:
        """The newest requests whose memory covers ``excess``."""
        chosen: list[int] = []
        freed = 0
        for request, held in zip(reversed(running), reversed(need), strict=True):
            if freed >= excess:
                break
            chosen.append(request)
            freed += held
        return chosen


@dataclass(frozen=True)
class RandomEviction:
    """Evict each running request independently with probability ``beta``, repeated until it fits.

    The paper's β-clearing. Passes of coin flips go over the requests still running, in
    admission order, until the requests hit so far free enough memory. However small ``beta``
    is, a call ends promptly: after :data:`DIRECT_DRAW_AFTER` passes the remaining requests'
    first-hit passes are drawn directly (each is geometric with parameter ``beta``, independent
    of the others and of the passes already made), and the requests hit up to the first pass
    that frees enough are evicted, which is the same distribution as flipping on.

    Args:
        beta: eviction probability per request and pass, in ``(0, 1]``.
    """

    beta: float = 0.1
    name: str = "random"

    def __post_init__(self) -> None:
        beta = check_real("random eviction beta", self.beta, low=0, high=1, low_open=True)
        object.__setattr__(self, "beta", beta)

    def victims(
        self, running: Sequence[int], need: Sequence[int], excess: int, rng: np.random.Generator
    ) -> list[int]:
        """Independent coin flips, pass after pass, until ``excess`` tokens are freed."""
        remaining = np.asarray(running, dtype=np.int64)
        held = np.asarray(need, dtype=np.int64)
        chosen: list[int] = []
        freed = 0
        passes = 0
        while freed < excess and remaining.size:
            if passes == DIRECT_DRAW_AFTER:
                return chosen + self._first_hits(remaining, held, excess - freed, rng)
            hit = rng.random(remaining.size) < self.beta
            chosen.extend(remaining[hit].tolist())
            freed += int(held[hit].sum())
            remaining, held = remaining[~hit], held[~hit]
            passes += 1
        return chosen

    def _first_hits(
        self,
        remaining: np.ndarray,
        held: np.ndarray,
        excess: int,
        rng: np.random.Generator,
    ) -> list[int]:
        """Draw each request's first-hit pass; evict all hit by the first pass that suffices."""
        uniform = 1.0 - rng.random(remaining.size)  # in (0, 1]
        with np.errstate(over="ignore", divide="ignore"):  # a tiny beta: passes beyond 1e308
            first_hit = np.maximum(np.ceil(np.log(uniform) / np.log1p(-self.beta)), 1.0)
        order = np.argsort(first_hit, kind="stable")
        freed = np.cumsum(held[order])
        enough = int(np.searchsorted(freed, excess))  # first position where freed >= excess
        last_pass = first_hit[order[min(enough, order.size - 1)]]
        return remaining[first_hit <= last_pass].tolist()


EvictionPolicy = ClearAll | NewestFirst | RandomEviction

EVICTION_POLICIES: Registry[EvictionPolicy] = Registry("eviction policy")
EVICTION_POLICIES.register("clear-all", ClearAll)
EVICTION_POLICIES.register("newest-first", NewestFirst)
EVICTION_POLICIES.register("random", RandomEviction)


def make_eviction(spec: str | EvictionPolicy) -> EvictionPolicy:
    """An eviction policy from a spec (``"clear-all"``, ``"random:beta=0.2"``) or as given.

    Raises:
        ValueError: for an unknown name, a bad parameter, or an object that is neither a spec
            string nor a policy (an object with ``victims``).
    """
    if isinstance(spec, str):
        return EVICTION_POLICIES.make_shared(spec)  # frozen: one object per spec
    if not callable(getattr(spec, "victims", None)):
        raise ValueError(
            f"eviction must be a policy name ({', '.join(EVICTION_POLICIES.names())}) or a "
            f"policy object, got {spec!r}"
        )
    return spec
