"""Fuzzing of everything a user types: a clear ``ValueError`` or a result, never another
exception, never a hang (issue 17).

Each case runs under a wall-clock limit (``CASE_SECONDS``, by ``SIGALRM``). Spec strings are
drawn from every registry's names with random parameter names and values (numbers, huge and
tiny ones, infinities, booleans, text, empty values); instance arrays from random columns of
numbers, booleans and text; environment arguments from random keywords and values.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcsf_gym  # noqa: F401  (registers the environments)
from agents import AGENTS, make_agent
from mcsf_gym import Instance, simulate
from mcsf_gym.core import EVICTION_POLICIES, PREDICTORS, TIME_MODELS
from mcsf_gym.core.eviction import make_eviction
from mcsf_gym.core.predictions import make_predictor
from mcsf_gym.core.time_models import make_time_model
from mcsf_gym.workloads import WORKLOADS, make_workload

CASE_SECONDS = 20

VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "1", "-1", "0.5", "1e-300", "5e-324", "1e300", "inf", "-inf", "nan"]),
    st.sampled_from(["true", "false", "abc", "", "2**63", "1e19", "3", "10", "0.0"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
KEYS = st.sampled_from(
    ["alpha", "beta", "eps", "n", "rate", "memory", "base", "per_request", "per_context",
     "per_prefill", "preset", "prediction", "path", "seed", "x", "lengths", "n_min", "n_max",
     "prompt_min", "prompt_max", "memory_min", "memory_max", "time_model", "eviction"]
)  # fmt: skip


@contextlib.contextmanager
def time_limit(seconds: int = CASE_SECONDS) -> Iterator[None]:
    """Fail the case if it runs longer than ``seconds`` (a hang)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"the case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def specs(names: list[str]) -> st.SearchStrategy[str]:
    """Random spec strings over the given registry names."""
    pairs = st.lists(st.tuples(KEYS, VALUES), max_size=3).map(
        lambda items: ",".join(f"{key}={value}" for key, value in items)
    )
    return st.one_of(
        st.sampled_from(names),
        st.tuples(st.sampled_from(names), pairs).map(lambda t: f"{t[0]}:{t[1]}" if t[1] else t[0]),
        st.text(max_size=30),
        st.sampled_from(names).map(lambda name: f"{name}:alpha"),
    )


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(spec=specs(EVICTION_POLICIES.names()))
def test_eviction_specs(spec: str) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        make_eviction(spec)


@FUZZ
@given(spec=specs(PREDICTORS.names()), seed=st.integers(0, 10))
def test_prediction_specs(spec: str, seed: int) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        inst = Instance([0, 0, 1], [1, 2, 3], [1, 5, 9])
        predictor = make_predictor(spec)
        prediction, lower = predictor.predict(inst.output, np.random.default_rng(seed))
        inst.with_predictions(prediction, lower)


@FUZZ
@given(spec=specs(TIME_MODELS.names()))
def test_time_model_specs(spec: str) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        model = make_time_model(spec)
        assert np.isfinite(model.duration(3, 10, 20))


@FUZZ
@given(spec=specs([name for name in AGENTS.names() if "ppo" not in name]))
def test_agent_specs(spec: str) -> None:
    inst = Instance([0, 0, 1, 2], [2, 2, 1, 3], [3, 2, 4, 1], prediction=[1, 2, 4, 3])
    with time_limit(), contextlib.suppress(ValueError):
        agent = make_agent(spec)
        result = simulate(inst, agent, memory=12, seed=0)
        assert np.isfinite(result.finish).all()


@FUZZ
@given(spec=specs(["ppo", "maskable-ppo"]))
def test_learned_agent_specs(spec: str) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        make_agent(spec)


@FUZZ
@given(spec=specs([name for name in WORKLOADS.names() if name != "trace"]), seed=st.integers(0, 5))
def test_workload_specs(spec: str, seed: int) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        workload = make_workload(spec)
        workload.sample(np.random.default_rng(seed))


CELLS = st.one_of(
    st.integers(-5, 20),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["3", "", None]),
)


@FUZZ
@given(
    columns=st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=3, max_size=5),
    memory=st.one_of(st.integers(-3, 40), st.sampled_from([2**31, 10**11])),
)
def test_instance_arrays(columns: list[list[object]], memory: int) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        inst = Instance(*columns)
        result = simulate(inst, make_agent("mcsf"), memory=memory)
        assert np.isfinite(result.total_latency)


ENV_KEYWORDS = st.sampled_from(
    ["workload", "memory", "time_model", "prediction", "eviction", "window", "action",
     "observation", "reward_scale", "max_steps", "allow_idle", "windw", "seed"]
)  # fmt: skip
ENV_VALUES = st.one_of(
    st.integers(-3, 10),
    st.sampled_from([0, 10**7, 2**63, -1.5, float("nan"), float("inf"), True, None, "", "abc"]),
    st.sampled_from(["paper-model2:n=5", "unit", "linear", "exact", "noisy:eps=0.5",
                     "newest-first", "priority", "admit", "lmsys:n=5"]),
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kwargs=st.dictionaries(ENV_KEYWORDS, ENV_VALUES, max_size=3), seed=st.integers(0, 3))
def test_env_arguments(kwargs: dict[str, object], seed: int) -> None:
    with time_limit(), contextlib.suppress(ValueError):
        env = gym.make("mcsf_gym/KVCacheScheduling-v0", **kwargs)
        try:
            env.reset(seed=seed)
            for _ in range(50):
                mask = env.unwrapped.action_masks()
                action = int(np.flatnonzero(mask)[0])
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
        finally:
            env.close()


def test_the_time_limit_catches_a_hang() -> None:
    with pytest.raises(TimeoutError), time_limit(1):
        while True:
            pass
