"""Simulation settings: memory (with named presets), time model and eviction policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcsf_gym.core.checks import MAX_TOKENS, check_integer, check_seed
from mcsf_gym.core.eviction import EvictionPolicy, make_eviction
from mcsf_gym.core.time_models import TimeModel, make_time_model

MEMORY_PRESETS: dict[str, int] = {
    # KV-cache capacity in tokens of the paper's real-trace experiment (Llama2-70B, 2x A100).
    "paper-llama2-70b": 16492,
}


def resolve_memory(memory: int | str) -> int:
    """An integer ``M`` from an integer or a preset name such as ``"paper-llama2-70b"``.

    ``M`` must lie in ``[2, MAX_TOKENS]`` (``2**31 - 1`` tokens, far beyond any GPU's KV cache).

    Raises:
        ValueError: for an unknown preset, a non-integer (``inf``, ``nan``, a list, a boolean),
            or a memory out of range.
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
    return check_integer("memory", memory, low=2, high=MAX_TOKENS)


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
        object.__setattr__(self, "seed", check_seed(self.seed))

    @property
    def capacity(self) -> int:
        """``M`` as an integer (after resolving a preset)."""
        return int(self.memory)
