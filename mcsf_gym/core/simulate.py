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

#: Rounds without any request finishing, beyond the longest output, that ``simulate`` accepts
#: while evictions keep restarting requests, before it calls the run a livelock.
STALL_PATIENCE = 10_000


class NoProgressError(RuntimeError):
    """A run that would never end: the scheduler and the eviction policy make no progress."""


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

    Every run ends: it finishes, or raises :class:`NoProgressError` promptly (after at most
    ``max(output) + STALL_PATIENCE`` rounds without a completion, or ``IDLE_PATIENCE +
    sum(output)`` empty rounds), naming the scheduler, the eviction policy and what repeated.
    Without evictions, a running request always finishes within its output length, so only two
    things can stall a run: a scheduler that never admits, and a scheduler that re-admits what
    the eviction policy keeps evicting (``clear-all`` with a rule that admits without a memory
    check, or with under-predictions). With ``newest-first`` and a scheduler that admits only
    what fits the coming round (every rule with a memory check does), evictions only cover the
    running requests' growth, the oldest running request is never evicted, and every run ends.

    Args:
        instance: the requests.
        scheduler: any object with ``reset(rng)`` and ``schedule(view)``.
        config: a :class:`SimConfig`; keyword arguments override its fields.
        memory: KV-cache capacity ``M`` in tokens or a preset name (default 16492).
        time_model: ``"unit"`` (default) or ``"linear"`` (or a spec / object).
        eviction: ``"clear-all"``, ``"random"``, ``"newest-first"`` (or a spec / object). By
            default the config's, or, without a config, the scheduler's ``default_eviction``
            (the policy its rule assumes; ``"clear-all"`` for a scheduler without one).
        seed: seeds the scheduler's and the eviction policy's randomness.
        record: keep per-round records in ``result.trace``.

    Returns:
        The :class:`SimulationResult` with per-request times and metrics.

    Raises:
        ValueError: for an instance that does not fit the configuration, a bad setting, or a
            scheduler that admits a request that is not waiting.
        NoProgressError: (a ``RuntimeError``) if the run would never end, as above.
    """
    if eviction is None and config is None:
        eviction = getattr(scheduler, "default_eviction", None) or "clear-all"
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
    stall_limit = int(instance.output.max()) + STALL_PATIENCE
    idle_streak = 0
    stalled_rounds = 0
    stall_evictions = 0
    while not engine.done:
        if state.n_arrived - state.n_finished > len(state.running):
            admit = scheduler.schedule(view)
            if not admit and not state.running and not engine.has_future_arrivals:
                idle_streak += 1
                if idle_streak > patience:
                    raise NoProgressError(
                        f"scheduler {type(scheduler).__name__} admitted nothing for "
                        f"{idle_streak} empty rounds with {len(view.waiting)} request(s) "
                        "waiting, nothing running and no arrival to come: it would wait forever"
                    )
            else:
                idle_streak = 0
        else:
            admit = ()
        report = engine.run_round(admit)
        if report.finished:
            stalled_rounds = stall_evictions = 0
        elif report.ran or report.evicted:
            stalled_rounds += 1
            stall_evictions += len(report.evicted)
            if stalled_rounds > stall_limit and stall_evictions:
                raise NoProgressError(
                    _livelock_message(engine, scheduler, stalled_rounds, stall_evictions)
                )
    return engine.result()


def _livelock_message(engine: Engine, scheduler: Scheduler, rounds: int, evictions: int) -> str:
    evicted = engine.evictions_per_request
    worst = int(np.argmax(evicted))
    return (
        f"no progress: no request finished in {rounds} rounds while {evictions} evictions "
        f"restarted requests (scheduler {type(scheduler).__name__}, eviction policy "
        f"{engine.config.resolved_eviction.name!r}); request {worst} was evicted "
        f"{int(evicted[worst])} times: the scheduler keeps re-admitting what the eviction "
        "policy evicts. Use the scheduler's own eviction policy (agents.run_agent, or "
        "simulate without eviction=) or 'newest-first'"
    )
