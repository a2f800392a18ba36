"""Every new heuristic completes every request exactly once, whatever the predictions say.

Random small instances with under- and over-predictions (``noisy:eps=0.8``, and intervals
``interval:eps=0.8`` whose lower ends are often far too short), each agent under its default
eviction policy and under ``newest-first`` and ``random`` eviction: the run ends, every
request finishes once (its last run starts after its arrival and lasts exactly its output
length in unit time), and memory never exceeds ``M``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import MCSFSkip, run_agent
from agents.mcsf import walk_skipping
from mcsf_gym import Instance
from mcsf_gym.core.predictions import apply_predictions

AGENTS = [
    "mcsf-skip", "area-skip", "sorted-f", "a-max", "a-min", "wait", "nested-wait:first=2",
    "nested-wait", "gba", "gsa:first=1", "gsa", "vllm-v1", "vllm-v1:max_num_seqs=3",
]


@st.composite
def instances(draw) -> tuple[Instance, int, int]:
    n = draw(st.integers(1, 16))
    prompt = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    memory = max(s + o for s, o in zip(prompt, output, strict=True)) + draw(st.integers(0, 20))
    seed = draw(st.integers(0, 2**16))
    inst = Instance(np.cumsum(gaps) - gaps[0], prompt, output)
    return apply_predictions(inst, "interval:eps=0.8", np.random.default_rng(seed)), memory, seed


def check_complete(inst: Instance, res, memory: int) -> None:
    assert np.isfinite(res.finish).all()
    assert (res.start >= inst.arrival).all()
    np.testing.assert_array_equal(res.finish, res.start + inst.output)
    assert res.metrics["peak_memory"] <= memory


@pytest.mark.parametrize("spec", AGENTS)
@settings(max_examples=25, deadline=None)
@given(case=instances(), eviction=st.sampled_from([None, "newest-first", "random:beta=0.5"]))
def test_every_request_completes_exactly_once(
    spec: str, case: tuple[Instance, int, int], eviction: str | None
) -> None:
    # Not clear-all: a deterministic rule whose plans are too short re-admits the batch that
    # clear-all emptied and can cycle for ever (the engine's NoProgressError; docs/agents.md).
    inst, memory, seed = case
    res = run_agent(inst, spec, memory=memory, time_model="unit", eviction=eviction, seed=seed)
    check_complete(inst, res, memory)


@pytest.mark.parametrize("spec", [a for a in AGENTS if not a.startswith("a-")])
@settings(max_examples=15, deadline=None)
@given(case=instances())
def test_point_predictions_and_linear_time(spec: str, case: tuple[Instance, int, int]) -> None:
    inst, memory, seed = case
    noisy = apply_predictions(inst, "noisy:eps=0.8", np.random.default_rng(seed))
    res = run_agent(noisy, spec, memory=memory, time_model="linear", seed=seed)
    assert np.isfinite(res.finish).all()
    assert res.metrics["peak_memory"] <= memory



class _SkipWithoutEarlyExit(MCSFSkip):
    """mcsf-skip walking its whole queue (no early exit by prediction)."""

    def schedule(self, view):
        self._queue.sync(view)
        return walk_skipping(view, self._queue.chunks(view), self.alpha)


@settings(max_examples=40, deadline=None)
@given(case=instances())
def test_the_early_exit_of_the_skipping_walk_changes_nothing(
    case: tuple[Instance, int, int],
) -> None:
    inst, memory, seed = case
    noisy = apply_predictions(inst, "noisy:eps=0.8", np.random.default_rng(seed))
    for instance in (inst, noisy):
        fast = run_agent(instance, MCSFSkip(), memory=memory, time_model="unit", seed=seed)
        full = run_agent(
            instance, _SkipWithoutEarlyExit(), memory=memory, time_model="unit", seed=seed
        )
        np.testing.assert_array_equal(fast.start, full.start)
        np.testing.assert_array_equal(fast.finish, full.finish)
