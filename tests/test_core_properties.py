"""Invariants of the simulator on random instances (hypothesis), and input validation.

- memory after every round is at most ``M``, and equals a recount from the start times (MC-SF
  under exact predictions, both time models);
- every request completes exactly once, after it started, after it arrived; its final run lasts
  exactly ``o`` rounds; total latency is ``sum(finish - arrival)`` and the sum of the latency
  each step reports (every built-in agent, with its own eviction policy and with others);
- a scheduler cannot reach true output lengths through its view;
- bad instance data is a ``ValueError`` naming the field, the request and the value.

The hindsight optimum is never above any agent's value: ``test_agents_optimum.py``.
"""

from __future__ import annotations

import gc
import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_helpers import drive

from agents import make_agent
from agents.mcsf import MCSF
from mcsf_gym import Instance, simulate
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.predictions import apply_predictions
from mcsf_gym.core.view import StateView

AGENT_SPECS = [
    "mcsf",
    "mc-benchmark",
    "mcsf-reference",
    "alpha-greedy:alpha=0.2",
    "alpha-greedy:alpha=0.05",
    "alpha-beta:alpha=0.1,beta=0.3",
    "vllm-fcfs",
    "vllm-fcfs:max_num_seqs=3",
    "sf-no-lookahead",
]


@st.composite
def instances(draw, time_model: str, max_n: int = 20) -> tuple[Instance, int]:
    """A small instance (tight memory is likely) and a memory that can serve every request."""
    n = draw(st.integers(1, max_n))
    prompt = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 10), min_size=n, max_size=n))
    if time_model == "unit":
        gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    else:
        gaps = draw(st.lists(st.floats(0, 0.2, allow_subnormal=False), min_size=n, max_size=n))
    arrival = np.cumsum(gaps) - gaps[0]
    need = max(s + o for s, o in zip(prompt, output, strict=True))
    memory = need + draw(st.integers(0, 25))
    return Instance(arrival, prompt, output), memory


def recount_memory(result, trace) -> tuple[np.ndarray, np.ndarray]:
    """Memory after each round from start rounds and lengths; and each start's round index."""
    first_round = np.searchsorted(trace.start, result.start)
    np.testing.assert_array_equal(trace.start[first_round], result.start)
    inst = result.instance
    rounds = np.arange(1, trace.start.size + 1)[:, None]  # k = 1..R after round k
    held = inst.prompt[None, :] + rounds - first_round[None, :]
    active = (first_round[None, :] < rounds) & (rounds <= first_round[None, :] + inst.output)
    return (held * active).sum(axis=1), first_round


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mcsf_exact_memory_recount_stays_within_m(time_model: str, data: st.DataObject) -> None:
    inst, memory = data.draw(instances(time_model))
    res = simulate(inst, MCSF(), memory=memory, time_model=time_model, record=True)
    assert res.metrics["evictions"] == 0
    recount, first_round = recount_memory(res, res.trace)
    np.testing.assert_array_equal(res.trace.memory, recount)
    assert recount.max() <= memory
    # Each request completes at the end of its o-th round, in either time model.
    last = first_round + inst.output - 1
    np.testing.assert_allclose(res.finish, res.trace.start[last] + res.trace.duration[last])


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_request_completes_exactly_once(time_model: str, data: st.DataObject) -> None:
    inst, memory = data.draw(instances(time_model))
    seed = data.draw(st.integers(0, 2**16))
    prediction = data.draw(st.sampled_from(["exact", "noisy:eps=0.5", "noisy:eps=0.8"]))
    inst = apply_predictions(inst, prediction, np.random.default_rng(seed))
    spec = data.draw(st.sampled_from(AGENT_SPECS))
    agent = make_agent(spec)
    # Any agent with its own policy, or with one under which the oldest request always keeps
    # running (newest-first) or the coin eventually spares it (random): all must terminate.
    eviction = data.draw(st.sampled_from([agent.default_eviction, "newest-first", "random"]))
    config = SimConfig(memory=memory, time_model=time_model, eviction=eviction, seed=seed)
    engine, reports = drive(inst, agent, config, max_steps=5_000)
    res = engine.result()
    finished = [i for report in reports for i in report.finished]
    assert sorted(finished) == list(range(inst.n))  # each exactly once
    assert np.isfinite(res.finish).all() and np.isfinite(res.start).all()
    assert (res.start >= inst.arrival).all()
    assert (res.finish > res.start).all()
    assert (res.first_token >= inst.arrival).all() and (res.first_token <= res.finish).all()
    assert res.total_latency == pytest.approx(float(np.sum(res.finish - inst.arrival)))
    assert res.total_latency == pytest.approx(sum(r.latency for r in reports))
    assert res.trace.memory.max() <= memory  # the engine's guarantee, whatever the scheduler
    # The final run is uninterrupted: o rounds from its start round.
    first_round = np.searchsorted(res.trace.start, res.start)
    last = first_round + inst.output - 1
    np.testing.assert_allclose(res.finish, res.trace.start[last] + res.trace.duration[last])
    assert res.metrics["evictions"] == res.evicted.sum()
    assert sum(len(r.evicted) for r in reports) == res.evicted.sum()


# ----------------------------------------------------------------- the view hides true lengths
class Peeking:
    """A scheduler that tries to read the true output lengths from its view."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: StateView) -> list[int]:
        getattr(view, self.attribute)
        return view.waiting.tolist()


@pytest.mark.parametrize("attribute", ["output", "outputs", "instance", "engine", "_output"])
def test_a_scheduler_that_reads_true_lengths_gets_attribute_error(attribute: str) -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2], prediction=[1, 1])
    with pytest.raises(AttributeError):
        simulate(inst, Peeking(attribute), memory=10)


def test_the_view_cannot_be_extended_nor_written() -> None:
    inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2], prediction=[1, 1])
    view = Engine(inst, SimConfig(memory=10)).view
    with pytest.raises(AttributeError):
        view.output = inst.output  # type: ignore[attr-defined]
    for array in (view.arrival, view.prompt, view.prediction, view.status, view.start_round):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def reachable(root: object, limit: int = 50_000) -> list[object]:
    """Objects reachable from ``root`` through references, not entering types or modules."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen = {id(root)}
    queue, found = [root], []
    while queue and len(found) < limit:
        obj = queue.pop()
        found.append(obj)
        for ref in gc.get_referents(obj):
            if id(ref) not in seen and not isinstance(ref, skip):
                seen.add(id(ref))
                queue.append(ref)
    assert len(found) < limit, "reference walk did not end"
    return found


class Inspector:
    """At every decision, checks that nothing reachable from the view holds true lengths."""

    def __init__(self, engine: Engine) -> None:
        self.forbidden = {id(engine), id(engine.instance), id(engine.instance.output)}
        self.forbidden.add(id(engine._output))  # the engine's private copy
        self.output = engine.instance.output.copy()
        self.calls = 0

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: StateView) -> list[int]:
        for obj in reachable(view):
            assert id(obj) not in self.forbidden, type(obj)
            if isinstance(obj, np.ndarray) and obj.shape == self.output.shape:
                assert not np.array_equal(obj, self.output)  # no copy of the outputs either
        self.calls += 1
        return MCSF().schedule(view) if self.calls > 1 else view.waiting[:1].tolist()


@settings(max_examples=15, deadline=None)
@given(
    offsets=st.lists(st.sampled_from([-5, -2, 2, 5]), min_size=1, max_size=8),
    gaps=st.lists(st.integers(0, 20), min_size=8, max_size=8),
)
def test_true_lengths_are_unreachable_from_the_view(offsets: list[int], gaps: list[int]) -> None:
    # Distinctive true lengths (37, 40, 43, ...) that no public array holds by chance; every
    # prediction is off by 2 or 5, and memory leaves room so that no clip makes it exact.
    n = len(offsets)
    output = 37 + 3 * np.arange(n)
    arrival = np.cumsum(gaps[:n]) - gaps[0]
    inst = Instance(arrival, [2] * n, output, prediction=output + np.array(offsets))
    engine = Engine(inst, SimConfig(memory=int(output.max()) + 40), record=True)
    inspector = Inspector(engine)
    for _ in range(10_000):
        if engine.done:
            break
        engine.run_round(inspector.schedule(engine.view) if engine.view.waiting.size else [])
    assert engine.done and inspector.calls >= 1


# ----------------------------------------------------------------- validation
FIELDS = ("arrival", "prompt", "output", "prediction")


def valid_columns(n: int) -> dict[str, list[float]]:
    return {
        "arrival": [10.0 + 2 * i for i in range(n)],
        "prompt": [3.0] * n,
        "output": [4.0] * n,
        "prediction": [5.0] * n,
    }


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 6),
    data=st.data(),
    field=st.sampled_from(FIELDS),
    kind=st.sampled_from(["negative", "zero", "fraction", "nan", "inf"]),
)
def test_bad_values_name_the_field_request_and_value(
    n: int, data: st.DataObject, field: str, kind: str
) -> None:
    i = data.draw(st.integers(0, n - 1))
    columns = valid_columns(n)
    if field == "arrival" and kind in ("zero", "fraction"):
        kind = "negative"  # 0 and fractions are valid arrivals (seconds)
    value = {
        "negative": -float(data.draw(st.integers(1, 500))),
        "zero": 0.0,
        "fraction": data.draw(st.integers(1, 50)) + 0.5,
        "nan": math.nan,
        "inf": math.inf,
    }[kind]
    columns[field][i] = value
    with pytest.raises(ValueError) as error:
        Instance(**columns)
    message = str(error.value)
    assert f"{field}[{i}] = {value:g}" in message
    assert f"(request {i})" in message


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 6), data=st.data())
def test_unsorted_arrivals_name_the_request(n: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(1, n - 1))
    columns = valid_columns(n)
    previous = columns["arrival"][i - 1]
    value = previous - data.draw(st.sampled_from([0.25, 0.5, 1.0, 1.5, 8.0]))
    columns["arrival"][i] = value
    with pytest.raises(ValueError) as error:
        Instance(**columns)
    assert str(error.value) == (
        f"arrival must be sorted: arrival[{i}] = {value:g} comes before "
        f"arrival[{i - 1}] = {previous:g} (request {i})"
    )


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), data=st.data(), prompt=st.integers(4, 30), output=st.integers(5, 30))
def test_requests_that_cannot_fit_name_the_request_and_numbers(
    n: int, data: st.DataObject, prompt: int, output: int
) -> None:
    # The others need 3 + 4 = 7 tokens; request i needs prompt + output >= 9 > memory >= 8.
    i = data.draw(st.integers(0, n - 1))
    columns = valid_columns(n)
    columns["prompt"][i], columns["output"][i] = float(prompt), float(output)
    memory = prompt + output - 1
    inst = Instance(**columns)
    expected = (
        f"request {i} can never be served: prompt {prompt} + output {output} = "
        f"{prompt + output} > memory {memory} (1 such request(s))"
    )
    for model in ("unit", "linear"):
        with pytest.raises(ValueError) as error:
            simulate(inst, MCSF(), memory=memory, time_model=model)
        assert str(error.value) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"arrival": [], "prompt": [], "output": []}, "at least one request"),
        ({"arrival": [0, 1], "prompt": [1], "output": [1, 1]}, "prompt has length 1"),
        ({"arrival": [[0]], "prompt": [1], "output": [1]}, "one-dimensional"),
        (
            {"arrival": [0, 0], "prompt": [1, 1], "output": [2, 2], "lower": [1, 3]},
            r"lower\[1\] = 3 exceeds prediction\[1\] = 2 \(request 1\)",
        ),
        ({"arrival": [0], "prompt": ["x"], "output": [1]}, "could not convert|x"),
    ],
)
def test_malformed_instances_are_value_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Instance(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"memory": 1}, r"memory must be an integer in \[2, 2147483647\], got 1"),
        ({"memory": 10.5}, "got 10.5"),
        ({"memory": 10**11}, "got 100000000000"),
        ({"memory": math.inf}, "memory must be an integer .* got inf"),
        ({"memory": math.nan}, "memory must be an integer .* got nan"),
        ({"memory": [7]}, r"memory must be an integer .* got \[7\]"),
        ({"memory": True}, "memory must be an integer .* got True"),
        ({"eviction": 7}, "eviction must be a policy name .* got 7"),
        ({"time_model": 7}, "time_model must be .* got 7"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"memory": "paper-gpt5"}, "unknown memory preset 'paper-gpt5'"),
        ({"time_model": "quadratic"}, "quadratic"),
        ({"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
    ],
)
def test_bad_configs_are_value_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SimConfig(**kwargs)
