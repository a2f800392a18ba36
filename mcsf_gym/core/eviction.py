"""Eviction policies: which running requests to drop when a round would overflow ``M``.

MODEL.md section 4. A policy sees the running requests in admission order (oldest first), the
memory each would hold after the coming round, and how many tokens must be freed. The engine
applies the choice; an evicted request loses its KV cache and produced tokens and waits again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcsf_gym.registry import Registry


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

    The paper's β-clearing.

    Args:
        beta: eviction probability per request and pass, in ``(0, 1]``.
    """

    beta: float = 0.1
    name: str = "random"

    def __post_init__(self) -> None:
        if not 0 < self.beta <= 1:
            raise ValueError(f"random eviction beta must be in (0, 1], got {self.beta}")

    def victims(
        self, running: Sequence[int], need: Sequence[int], excess: int, rng: np.random.Generator
    ) -> list[int]:
        """Independent coin flips, pass after pass, until ``excess`` tokens are freed."""
        remaining = np.asarray(running, dtype=np.int64)
        held = np.asarray(need, dtype=np.int64)
        chosen: list[int] = []
        freed = 0
        while freed < excess and remaining.size:
            hit = rng.random(remaining.size) < self.beta
            chosen.extend(remaining[hit].tolist())
            freed += int(held[hit].sum())
            remaining, held = remaining[~hit], held[~hit]
        return chosen


EvictionPolicy = ClearAll | NewestFirst | RandomEviction

EVICTION_POLICIES: Registry[EvictionPolicy] = Registry("eviction policy")
EVICTION_POLICIES.register("clear-all", ClearAll)
EVICTION_POLICIES.register("newest-first", NewestFirst)
EVICTION_POLICIES.register("random", RandomEviction)


def make_eviction(spec: str | EvictionPolicy) -> EvictionPolicy:
    """An eviction policy from a spec (``"clear-all"``, ``"random:beta=0.2"``) or as given."""
    if isinstance(spec, str):
        return EVICTION_POLICIES.make(spec)
    return spec
