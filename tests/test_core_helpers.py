"""Tiny schedulers and drivers shared by the core tests (plus checks of the helpers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mcsf_gym import Instance
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine, RoundReport
from mcsf_gym.core.view import StateView


class AdmitAll:
    """FCFS, admit every waiting request (no memory check at all)."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: StateView) -> list[int]:
        return view.waiting.tolist()


class FitNextRound:
    """FCFS without look-ahead: admit the arrival-order prefix that fits the coming round."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: StateView) -> list[int]:
        free = view.memory - view.memory_next_round
        admitted = []
        for request in view.waiting.tolist():
            need = int(view.prompt[request]) + 1
            if need > free:
                break
            free -= need
            admitted.append(request)
        return admitted


class Plan:
    """Admit given ids at given times (those of them that are waiting); nothing otherwise."""

    def __init__(self, plan: Mapping[float, Sequence[int]]) -> None:
        self.plan = {float(t): list(ids) for t, ids in plan.items()}
        self.calls: list[float] = []

    def reset(self, rng: np.random.Generator) -> None:
        self.calls = []

    def schedule(self, view: StateView) -> list[int]:
        self.calls.append(view.time)
        waiting = set(view.waiting.tolist())
        return [i for i in self.plan.get(float(view.time), []) if i in waiting]


class Never:
    """Admits nothing, ever."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: StateView) -> list[int]:
        return []


def drive(
    instance: Instance, scheduler: object, config: SimConfig, *, max_steps: int = 100_000
) -> tuple[Engine, list[RoundReport]]:
    """Run an episode through ``Engine.run_round`` by hand, keeping every report."""
    engine = Engine(instance, config, record=True)
    scheduler.reset(np.random.default_rng(0))  # type: ignore[attr-defined]
    reports = []
    for _ in range(max_steps):
        if engine.done:
            return engine, reports
        admit = scheduler.schedule(engine.view) if engine.view.waiting.size else []  # type: ignore[attr-defined]
        reports.append(engine.run_round(admit))
    raise AssertionError(f"episode did not end within {max_steps} steps")


def test_plan_admits_only_waiting_ids_at_planned_times() -> None:
    inst = Instance(arrival=[0, 1], prompt=[1, 1], output=[2, 1])
    plan = Plan({0: [0, 1], 1: [1]})
    engine, reports = drive(inst, plan, SimConfig(memory=10))
    # t=0: only request 0 has arrived, so [0, 1] -> [0]; t=1: request 1 waits and is admitted.
    assert reports[0].admitted == (0,)
    assert reports[1].admitted == (1,)
    assert plan.calls == [0.0, 1.0]
    assert engine.done


def test_fit_next_round_stops_at_first_miss() -> None:
    inst = Instance(arrival=[0, 0, 0], prompt=[3, 5, 1], output=[1, 1, 1])
    engine = Engine(inst, SimConfig(memory=8))
    # free 8: request 0 needs 4 (free 4), request 1 needs 6 > 4: stop (request 2 not tried).
    assert FitNextRound().schedule(engine.view) == [0]
