"""The agent registry, ``make_agent`` and ``run_agent``: the one way to build and run an agent."""

from __future__ import annotations

from typing import Any

from agents.a_max import AMax
from agents.a_min import AMin
from agents.alpha_beta import AlphaBeta
from agents.alpha_greedy import AlphaGreedy
from agents.area_skip import AreaSkip
from agents.geometric import GBA, GSA
from agents.mc_benchmark import MCBenchmark
from agents.mcsf import MCSF
from agents.mcsf_reference import MCSFReference
from agents.mcsf_skip import MCSFSkip
from agents.nested_wait import NestedWait
from agents.sf_no_lookahead import SFNoLookahead
from agents.sorted_f import SortedF
from agents.vllm_fcfs import VLLMFCFS
from agents.vllm_v1 import VLLMV1
from agents.wait import Wait
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.result import SimulationResult
from mcsf_gym.core.scheduler import Scheduler
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.time_models import TimeModel
from mcsf_gym.registry import Registry

#: Agent names to factories. Learned policies are lazy targets: ``import agents`` loads no torch.
AGENTS: Registry[Scheduler] = Registry("agent")
AGENTS.register("mcsf", MCSF)
AGENTS.register("mc-benchmark", MCBenchmark)
AGENTS.register("alpha-greedy", AlphaGreedy)
AGENTS.register("alpha-beta", AlphaBeta)
AGENTS.register("vllm-fcfs", VLLMFCFS)
AGENTS.register("sf-no-lookahead", SFNoLookahead)
AGENTS.register("mcsf-reference", MCSFReference)
AGENTS.register("mcsf-skip", MCSFSkip)
AGENTS.register("area-skip", AreaSkip)
AGENTS.register("sorted-f", SortedF)
AGENTS.register("a-max", AMax)
AGENTS.register("a-min", AMin)
AGENTS.register("wait", Wait)
AGENTS.register("nested-wait", NestedWait)
AGENTS.register("gba", GBA)
AGENTS.register("gsa", GSA)
AGENTS.register("vllm-v1", VLLMV1)
AGENTS.register("ppo", "agents.learned:load_ppo")
AGENTS.register("maskable-ppo", "agents.learned:load_maskable_ppo")


def make_agent(spec: str | Scheduler, **overrides: Any) -> Scheduler:
    """Build an agent from a spec such as ``"mcsf"``, ``"alpha-beta:alpha=0.1,beta=0.1"``.

    Learned policies take a path: ``"ppo:models/ppo.zip"``. An agent object is returned as is.

    Args:
        spec: ``name`` or ``name:key=value,...`` (see :data:`AGENTS` for the names), or an
            object with ``reset`` and ``schedule``.
        **overrides: parameters that replace or extend those of the spec.

    Returns:
        The agent.

    Raises:
        ValueError: for an unknown name (the message lists the known ones) or bad parameters.
    """
    if isinstance(spec, str):
        return AGENTS.make(spec, **overrides)
    if overrides:
        raise ValueError(f"make_agent: overrides {sorted(overrides)} need a spec string")
    if not isinstance(spec, Scheduler):
        raise ValueError(f"make_agent: expected a spec string or a scheduler, got {spec!r}")
    return spec


def run_agent(
    instance: Instance,
    agent: str | Scheduler,
    *,
    memory: int | str,
    time_model: str | TimeModel,
    eviction: str | None = None,
    seed: int | None = None,
    record: bool = False,
) -> SimulationResult:
    """Run an agent on an instance with the eviction policy its rule assumes.

    This is the one way evaluation code should run an agent: the eviction policy defaults to
    the agent's ``default_eviction`` (``"clear-all"`` for objects without one).

    Args:
        instance: the requests.
        agent: an agent spec (see :func:`make_agent`) or a scheduler object.
        memory: KV-cache capacity ``M`` in tokens, or a preset name.
        time_model: ``"unit"``, ``"linear"`` or a time model object.
        eviction: overrides the agent's default eviction policy.
        seed: seeds the agent's and the engine's randomness.
        record: keep per-round records in ``result.trace``.

    Returns:
        The simulation result.
    """
    scheduler = make_agent(agent)
    policy = eviction if eviction is not None else getattr(scheduler, "default_eviction", None)
    return simulate(
        instance,
        scheduler,
        memory=memory,
        time_model=time_model,
        eviction=policy or "clear-all",
        seed=seed,
        record=record,
    )
