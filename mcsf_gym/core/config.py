"""Simulation settings: memory (with named presets), time model and eviction policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcsf_gym.core.eviction import EvictionPolicy, make_eviction
from mcsf_gym.core.time_models import TimeModel, make_time_model

MEMORY_PRESETS: dict[str, int] = {
    # KV-cache capacity in tokens of the paper's real-trace experiment (Llama2-70B, 2x A100).
    "paper-llama2-70b": 16492,
}


def resolve_memory(memory: int | str) -> int:
    """An integer ``M`` from an integer or a preset name such as ``"paper-llama2-70b"``.

    Raises:
        ValueError: for an unknown preset or a memory below 2 tokens.
    """
    if isinstance(memory, str):
        if memory in MEMORY_PRESETS:
            return MEMORY_PRESETS[memory]
        try:
            memory = int(memory)
        except ValueError:
            raise ValueError(
                f"unknown memory preset {memory!r}; known presets: {', '.join(MEMORY_PRESETS)}"
            ) from None
    if isinstance(memory, bool) or int(memory) != memory or memory < 2:
        raise ValueError(f"memory must be an integer >= 2 tokens, got {memory!r}")
    return int(memory)


@dataclass(frozen=True)
class SimConfig:
    """Everything about the worker that is not the requests.

    Args:
        memory: KV-cache capacity ``M`` in tokens, or a preset name (``"paper-llama2-70b"``).
        time_model: ``"unit"``, ``"linear"`` (Llama2-70B/A100 preset) or a time model object.
        eviction: ``"clear-all"``, ``"random"`` (``"random:beta=0.2"``), ``"newest-first"``,
            or a policy object.
        seed: seed of the engine's own randomness (random eviction only).
    """

    memory: int | str = 16492
    time_model: str | TimeModel = "unit"
    eviction: str | EvictionPolicy = "clear-all"
    seed: int | None = None
    resolved_time_model: TimeModel = field(init=False, repr=False, compare=False)
    resolved_eviction: EvictionPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "memory", resolve_memory(self.memory))
        object.__setattr__(self, "resolved_time_model", make_time_model(self.time_model))
        object.__setattr__(self, "resolved_eviction", make_eviction(self.eviction))
        if self.seed is not None and (isinstance(self.seed, bool) or int(self.seed) != self.seed):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")

    @property
    def capacity(self) -> int:
        """``M`` as an integer (after resolving a preset)."""
        return int(self.memory)
