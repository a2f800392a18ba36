"""``simulate``: run a scheduler on an instance, the fast path used by agents and evaluation."""

from __future__ import annotations

import numpy as np

from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.eviction import EvictionPolicy
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.result import SimulationResult
from mcsf_gym.core.scheduler import Scheduler
from mcsf_gym.core.time_models import TimeModel


def make_config(
    config: SimConfig | None = None,
    *,
    memory: int | str | None = None,
    time_model: str | TimeModel | None = None,
    eviction: str | EvictionPolicy | None = None,
    seed: int | None = None,
) -> SimConfig:
    """A :class:`SimConfig` from an optional base config and keyword overrides."""
    base = config if config is not None else SimConfig()
    return SimConfig(
        memory=base.memory if memory is None else memory,
        time_model=base.time_model if time_model is None else time_model,
        eviction=base.eviction if eviction is None else eviction,
        seed=base.seed if seed is None else seed,
    )


#: Empty rounds a scheduler may idle in a row, beyond sum(output), once no arrival is to come.
IDLE_PATIENCE = 10_000


def simulate(
    instance: Instance,
    scheduler: Scheduler,
    config: SimConfig | None = None,
    *,
    memory: int | str | None = None,
    time_model: str | TimeModel | None = None,
    eviction: str | EvictionPolicy | None = None,
    seed: int | None = None,
    record: bool = False,
) -> SimulationResult:
    """Run ``scheduler`` on ``instance`` until every request has finished.

    Args:
        instance: the requests.
        scheduler: any object with ``reset(rng)`` and ``schedule(view)``.
        config: a :class:`SimConfig`; keyword arguments override its fields.
        memory: KV-cache capacity ``M`` in tokens or a preset name (default 16492).
        time_model: ``"unit"`` (default) or ``"linear"`` (or a spec / object).
        eviction: ``"clear-all"`` (default), ``"random"``, ``"newest-first"``.
        seed: seeds the scheduler's and the eviction policy's randomness.
        record: keep per-round records in ``result.trace``.

    Returns:
        The :class:`SimulationResult` with per-request times and metrics.

    Raises:
        ValueError: for an instance that does not fit the configuration, or a scheduler that
            admits a request that is not waiting.
        RuntimeError: if the scheduler keeps admitting nothing while nothing runs and no
            request will arrive any more (it would wait forever): after
            ``IDLE_PATIENCE + sum(output)`` empty rounds in a row (``IDLE_PATIENCE`` = 10,000).
    """
    settings = make_config(
        config, memory=memory, time_model=time_model, eviction=eviction, seed=seed
    )
    engine = Engine(instance, settings, record=record)
    scheduler.reset(np.random.default_rng(settings.seed))
    state = engine.state
    view = engine.view
    # A scheduler may idle on purpose (a replayed schedule can start late), but not forever:
    # with nothing running and no arrival to come, it gets IDLE_PATIENCE empty rounds in a row
    # plus as many as the instance has tokens to generate.
    patience = IDLE_PATIENCE + int(instance.output.sum())
    idle_streak = 0
    while not engine.done:
        if state.n_arrived - state.n_finished > len(state.running):
            admit = scheduler.schedule(view)
            if not admit and not state.running and not engine.has_future_arrivals:
                idle_streak += 1
                if idle_streak > patience:
                    raise RuntimeError(
                        f"scheduler {type(scheduler).__name__} admitted nothing for "
                        f"{idle_streak} empty rounds with {len(view.waiting)} request(s) "
                        "waiting, nothing running and no arrival to come: it would wait forever"
                    )
            else:
                idle_streak = 0
        else:
            admit = ()
        engine.run_round(admit)
    return engine.result()
