"""Driving the engine from one decision to the next (the environment's side of "advance").

Like ``simulate``, the environment only stops at round boundaries where some request waits
(or when the episode is over): after the round with the chosen admissions, every round in
which nobody waits runs at once. With nothing running and nothing admitted the engine idles
instead (until the next arrival, or one empty round). The rules stay in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcsf_gym.core.engine import Engine
from mcsf_gym.core.view import StateView

#: ``(time, memory in use, waiting, running)`` after an engine call (for rendering).
Snapshot = tuple[float, int, int, int]


def snapshot(view: StateView) -> Snapshot:
    """The state after an engine call, as recorded for the ``rgb_array`` chart."""
    waiting = view.n_arrived - view.n_finished - view.n_running
    return (view.time, view.memory_in_use, waiting, view.n_running)


def run_to_decision(
    engine: Engine, admit: Sequence[int], history: list[Snapshot] | None = None
) -> tuple[float, int]:
    """Run the coming round with ``admit``, then every round until some request waits.

    Args:
        engine: the episode's engine, at a round boundary.
        admit: waiting ids to admit for the coming round, in priority order.
        history: if given, a :func:`snapshot` is appended after every engine call.

    Returns:
        The latency accrued by all requests meanwhile, and the number of rounds run.
    """
    view = engine.view
    report = engine.run_round(admit)
    latency = report.latency
    rounds = int(report.ran)
    if history is not None:
        history.append(snapshot(view))
    while not engine.done and view.n_arrived - view.n_finished == view.n_running:
        report = engine.run_round(())
        latency += report.latency
        rounds += int(report.ran)
        if history is not None:
            history.append(snapshot(view))
    return latency, rounds
