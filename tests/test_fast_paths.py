"""The fast paths of the core and the agents against plain, slow versions of the same rules.

- :class:`MemoryProfile` and :class:`AdmissionCheck` on the engine's profile (no copy) against
  a dictionary of per-boundary sums and the check built on a copied window;
- the engine's incremental waiting set and log against a rescan of ``status``;
- MC-SF against :class:`agents.mcsf_reference.MCSFReference` under every eviction policy;
- the agents rewritten to touch only the head of the queue against the whole-queue versions
  they replaced (kept here, verbatim in rule).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import make_agent
from agents.alpha_greedy import AlphaGreedy
from agents.estimates import estimate_check, walk
from agents.mc_benchmark import MCBenchmark
from agents.mcsf import admit_prefix, walk_prefix, walk_skipping
from agents.nested_wait import NestedWait
from agents.sf_no_lookahead import SFNoLookahead
from agents.vllm_fcfs import VLLMFCFS
from agents.vllm_v1 import VLLMV1
from agents.wait import MAX_CLASSES, Wait
from mcsf_gym.core import kernels
from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.engine import Engine
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.lookahead import AdmissionCheck, MemoryProfile, add_while_fits_sliced
from mcsf_gym.core.simulate import simulate
from mcsf_gym.core.view import WAITING, StateView

EVICTIONS = ("clear-all", "newest-first", "random:beta=0.3")

try:
    from numba import njit

    COMPILED = njit(cache=True)(kernels.add_while_fits)
except ImportError:
    COMPILED = None


class NaiveProfile:
    """Per-boundary sums in a dictionary: the definition of :class:`MemoryProfile`."""

    def __init__(self) -> None:
        self.memory: dict[int, int] = {}

    def apply(self, prompt: int, start: int, begin: int, end: int, sign: int) -> None:
        for boundary in range(begin + 1, end + 1):
            self.memory[boundary] = self.memory.get(boundary, 0) + sign * (
                prompt + boundary - start
            )

    def window(self, boundary: int, length: int) -> list[int]:
        return [self.memory.get(boundary + h, 0) for h in range(1, length + 1)]


def naive_fits(memory: list[int], cap: float, prompt: int, prediction: int) -> bool:
    """The check of docs/model.md section 5 on a window: every boundary within ``cap``."""
    with_candidate = [
        held + (prompt + h + 1 if h < prediction else 0) for h, held in enumerate(memory)
    ]
    with_candidate += [prompt + h + 1 for h in range(len(memory), prediction)]
    return max(with_candidate, default=0) <= cap


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_profile_and_check_match_the_definition(data: st.DataObject) -> None:
    horizon = data.draw(st.integers(1, 12))
    steady = data.draw(st.integers(1, horizon + 1))
    profile = MemoryProfile(horizon)
    naive = NaiveProfile()
    runs: list[tuple[int, int, int, int]] = []
    now = 0
    for _ in range(data.draw(st.integers(1, 40))):
        action = data.draw(st.sampled_from(["add", "remove", "advance", "check"]))
        if action == "add":
            prompt = data.draw(st.integers(1, 9))
            end = now + data.draw(st.integers(1, horizon))
            profile.add(prompt, now, now, end)
            naive.apply(prompt, now, now, end, 1)
            runs.append((prompt, now, now, end))
        elif action == "remove" and runs:
            prompt, start, _, end = runs.pop(data.draw(st.integers(0, len(runs) - 1)))
            if end > now:
                profile.remove(prompt, start, now, end)
                naive.apply(prompt, start, now, end, -1)
        elif action == "advance":
            now += 1
            runs = [run for run in runs if run[3] > now]
            naive.memory.pop(now, None)
            profile.forget(now)
        length = max([run[3] - now for run in runs], default=0)
        assert profile.window(now, length).tolist() == naive.window(now, length)
        assert profile.peak(now, length) == max(naive.window(now, length), default=0)
        cap = data.draw(st.integers(0, 80))
        fast = AdmissionCheck.on_profile(profile, now, length, cap)
        copied = AdmissionCheck(profile.window(now, length), cap)
        memory = naive.window(now, length)
        assert fast.feasible == copied.feasible == (max(memory, default=0) <= cap)
        # The head's cached maximum, asked round after round with the same length.
        expected_top = max(held + h for h, held in enumerate(naive.window(now, steady), 1))
        assert profile.shifted_peak(now, steady) == expected_top
        # The unbuilt test of a walk's first candidate (no prediction, past the slots, within).
        size = data.draw(st.integers(1, 9))
        within = data.draw(st.integers(1, horizon + 1))
        for prompt, prediction in [(size, 0), (1, horizon + 3), (size, within)]:
            fits = AdmissionCheck.on_profile(profile, now, length, cap).fits(prompt, prediction)
            assert (profile.earliest_fit(now, now + length, cap, prompt, prediction) == now) == fits
        for _ in range(data.draw(st.integers(0, 4))):
            prompt = data.draw(st.integers(1, 9))
            prediction = data.draw(st.integers(1, horizon + 4))  # past the profile's slots too
            expected = max(memory, default=0) <= cap and naive_fits(memory, cap, prompt, prediction)
            assert fast.fits(prompt, prediction) == copied.fits(prompt, prediction) == expected
            if data.draw(st.booleans()):
                fast.add(prompt, prediction)
                copied.add(prompt, prediction)
                memory += [0] * (prediction - len(memory))
                memory = [
                    held + (prompt + h + 1 if h < prediction else 0)
                    for h, held in enumerate(memory)
                ]
                assert fast.feasible == copied.feasible == (max(memory) <= cap)
            assert fast.peak() == copied.peak() == max(memory, default=0)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_earliest_fit_never_skips_a_boundary_at_which_the_candidate_fits(
    data: st.DataObject,
) -> None:
    horizon = data.draw(st.integers(1, 12))
    profile = MemoryProfile(horizon)
    naive = NaiveProfile()
    now = data.draw(st.integers(0, 30))
    for boundary in range(1, now + 1):  # the boundaries before ``now`` have passed
        profile.forget(boundary)
    ends = [now]
    for _ in range(data.draw(st.integers(0, 6))):
        prompt = data.draw(st.integers(1, 9))
        start = now - data.draw(st.integers(0, 3))
        end = now + data.draw(st.integers(1, horizon))
        profile.add(prompt, start, now, end)
        naive.apply(prompt, start, now, end, 1)
        ends.append(end)
    cap = data.draw(st.floats(0, 90))
    prompt = data.draw(st.integers(0, 9))
    prediction = data.draw(st.integers(1, horizon + 1))
    version = profile.version
    retry = profile.earliest_fit(now, max(ends), cap, prompt, prediction)
    assert retry >= now
    for boundary in range(now, max(retry, now + 1)):
        memory = naive.window(boundary, max(0, max(ends) - boundary))
        fits = max(memory, default=0) <= cap and naive_fits(memory, cap, prompt, prediction)
        assert fits == (boundary == retry), (boundary, retry)
        assert profile.earliest_fit(boundary, max(ends), cap, prompt, prediction) >= retry
        profile.forget(boundary + 1)  # the boundary passes: its slot is reused
    assert profile.version == version


def test_a_check_refuses_to_answer_once_the_profile_changed() -> None:
    profile = MemoryProfile(4)
    profile.add(3, 0, 0, 2)
    check = AdmissionCheck.on_profile(profile, 0, 2, 10)
    assert check.fits(1, 1)
    profile.forget(1)
    with pytest.raises(RuntimeError, match="stale admission check"):
        check.fits(1, 1)


@st.composite
def instances(draw: st.DrawFn, time_model: str, max_n: int = 30) -> tuple[Instance, int]:
    """Small random instances with a memory every request fits in."""
    n = draw(st.integers(1, max_n))
    prompt = draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 16), min_size=n, max_size=n))
    prediction = [
        max(1, o + draw(st.integers(-6, 6))) if draw(st.booleans()) else o for o in output
    ]
    if time_model == "unit":
        gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    else:
        gaps = draw(st.lists(st.floats(0, 0.3), min_size=n, max_size=n))
    arrival = np.cumsum(gaps).astype(np.float64)
    memory = max(s + o for s, o in zip(prompt, output, strict=True)) + draw(st.integers(0, 60))
    return Instance(arrival, np.array(prompt), np.array(output), np.array(prediction)), memory


def same_schedule(first, second) -> None:
    """Identical start, finish and eviction counts, request by request."""
    np.testing.assert_array_equal(first.start, second.start)
    np.testing.assert_array_equal(first.finish, second.finish)
    np.testing.assert_array_equal(first.evicted, second.evicted)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@pytest.mark.parametrize("eviction", EVICTIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mcsf_equals_the_plain_rule_under_every_eviction_policy(
    time_model: str, eviction: str, data: st.DataObject
) -> None:
    instance, memory = data.draw(instances(time_model))
    alpha = data.draw(st.sampled_from([0.0, 0.1]))
    seed = data.draw(st.integers(0, 2**16))
    config = SimConfig(memory=memory, time_model=time_model, eviction=eviction, seed=seed)
    fast = simulate(instance, make_agent(f"mcsf:alpha={alpha}"), config)
    plain = simulate(instance, make_agent(f"mcsf-reference:alpha={alpha}"), config)
    same_schedule(fast, plain)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mcsf_kept_across_boundaries_answers_as_a_fresh_one_when_others_admit(
    time_model: str, data: st.DataObject
) -> None:
    # The agent remembers its queue, its head and when the head's test can next pass; here
    # another rule sometimes decides instead (a teacher beside a learner), so the state moves
    # under it in ways its own answers did not cause.
    instance, memory = data.draw(instances(time_model))
    alpha = data.draw(st.sampled_from([0.0, 0.1]))
    engine = Engine(
        instance, SimConfig(memory=memory, time_model=time_model, eviction="newest-first")
    )
    kept = make_agent(f"mcsf:alpha={alpha}")
    kept.reset(np.random.default_rng(0))
    for _ in range(400):
        if engine.done:
            break
        view = engine.view
        answer = kept.schedule(view) if view.n_waiting else []
        fresh = make_agent(f"mcsf:alpha={alpha}").schedule(view) if view.n_waiting else []
        assert answer == fresh
        if view.n_waiting and data.draw(st.booleans()):  # someone else decides this boundary
            waiting = view.waiting.tolist()
            answer = data.draw(st.lists(st.sampled_from(waiting), max_size=2, unique=True))
        engine.run_round(answer)


class CheckedView:
    """Wraps an agent: at every decision, the view's incremental waiting set is checked."""

    def __init__(self, agent) -> None:
        self.agent = agent
        self.default_eviction = agent.default_eviction
        self.decisions = 0

    def reset(self, rng: np.random.Generator) -> None:
        self.agent.reset(rng)

    def schedule(self, view: StateView) -> list[int]:
        expected = np.flatnonzero(np.asarray(view.status) == WAITING)
        np.testing.assert_array_equal(view.waiting, expected)
        assert list(view.iter_waiting()) == expected.tolist()
        assert view.n_waiting == expected.size
        assert bytes(view.statuses) == np.asarray(view.status).tobytes()
        lengths = [view.predicted_length_of(i) for i in range(len(view.prompts))]
        assert lengths == view.predicted_length(np.arange(len(view.prompts))).tolist()
        self.decisions += 1
        return self.agent.schedule(view)


@pytest.mark.parametrize("eviction", EVICTIONS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_waiting_set_is_the_rescan_of_status(eviction: str, data: st.DataObject) -> None:
    instance, memory = data.draw(instances("unit"))
    # Rules without a look-ahead can livelock under clear-all (documented): MC-SF only there.
    names = ["mcsf"] if eviction == "clear-all" else ["vllm-fcfs", "mcsf", "alpha-greedy"]
    spec = data.draw(st.sampled_from(names))
    checked = CheckedView(make_agent(spec))
    simulate(instance, checked, SimConfig(memory=memory, eviction=eviction, seed=1))
    assert checked.decisions >= 1


def test_the_waiting_log_lists_arrivals_and_evictions_in_order() -> None:
    instance = Instance(
        np.array([0.0, 0.0, 0.0]), np.array([2, 2, 2]), np.array([5, 5, 5]), np.array([1, 1, 1])
    )
    engine = Engine(instance, SimConfig(memory=12, eviction="newest-first"))
    view = engine.view
    assert view.waiting_since(0) == [0, 1, 2]
    engine.run_round([0, 1, 2])  # 9 tokens after the round
    assert view.n_waiting == 0
    engine.run_round()  # 12 tokens: fits
    report = engine.run_round()  # 15 > 12: the newest is evicted
    assert report.evicted == (2,)
    assert view.waiting_since(3) == [2]
    assert view.waiting.tolist() == [2]


def whole_queue_admit_within(view: StateView, order: np.ndarray, budget: float) -> list[int]:
    """The replaced ``agents.base.admit_within``: a cumulative sum over the whole order."""
    if order.size == 0:
        return []
    footprint = np.cumsum(view.prompt[order] + 1)
    count = int(np.searchsorted(footprint, budget, side="right"))
    if count == 0 and view.n_running == 0:
        count = 1
    return order[:count].tolist()


class WholeQueueVLLMFCFS(VLLMFCFS):
    """The replaced ``VLLMFCFS.schedule``: cumulative sums over the whole waiting queue."""

    def schedule(self, view: StateView) -> list[int]:
        waiting = view.waiting
        if waiting.size == 0:
            return []
        running = view.n_running
        prompt = view.prompt[waiting]
        fits = np.cumsum(prompt + 1) <= view.memory - view.memory_next_round
        if self.max_num_batched_tokens is not None:
            fits &= np.cumsum(prompt) <= self.max_num_batched_tokens - running
        count = int(fits.sum())
        if self.max_num_seqs is not None:
            count = max(0, min(count, self.max_num_seqs - running))
        if count == 0 and running == 0:
            count = 1
        return waiting[:count].tolist()


class WholeQueueVLLMV1(VLLMV1):
    """The replaced ``VLLMV1.schedule``."""

    def schedule(self, view: StateView) -> list[int]:
        waiting = view.waiting
        running = view.n_running
        if waiting.size == 0:
            return []
        seqs = waiting.size + running if self.max_num_seqs is None else self.max_num_seqs
        tokens = self.max_num_batched_tokens
        budget = np.inf if tokens is None else tokens - running
        prompt = view.prompt[waiting]
        fits = np.cumsum(prompt + 1) <= view.memory - view.memory_next_round
        before = np.concatenate(([0], np.cumsum(prompt)[:-1]))
        fits &= before < budget
        count = int(np.argmin(fits)) if not fits.all() else int(fits.size)
        count = max(0, min(count, seqs - running))
        if count == 0 and running == 0:
            count = 1
        return waiting[:count].tolist()


class WholeQueueAlphaGreedy(AlphaGreedy):
    """The replaced ``AlphaGreedy.schedule`` (the livelock breaker is shared)."""

    def schedule(self, view: StateView) -> list[int]:
        budget = min(
            (1.0 - self.alpha) * view.memory - view.memory_in_use,
            view.memory - view.memory_next_round,
        )
        admitted = whole_queue_admit_within(view, view.waiting, budget)
        return self._break_livelock(view, admitted) if self.detect_livelock else admitted


class WholeQueueSFNoLookahead(SFNoLookahead):
    """The replaced ``SFNoLookahead.schedule``: a stable sort of the whole queue."""

    def schedule(self, view: StateView) -> list[int]:
        waiting = view.waiting
        order = waiting[np.argsort(view.prediction[waiting], kind="stable")]
        return whole_queue_admit_within(view, order, view.memory - view.memory_next_round)


class WholeQueueMCBenchmark(MCBenchmark):
    """The replaced ``MCBenchmark.schedule``: the walk over the waiting array."""

    def schedule(self, view: StateView) -> list[int]:
        return admit_prefix(view, view.waiting, self.alpha)


class WholeQueueNestedWait(NestedWait):
    """The replaced ``NestedWait.schedule``: plans computed for the whole slice at once."""

    def schedule(self, view: StateView) -> list[int]:
        if view is not self._view:
            self._start(view)
        self._learn(view)
        waiting = view.waiting
        if view.n_running:
            count = self.need(view)
            if count == 0:
                return []
            waiting = waiting[:count]
        check = estimate_check(view, self._plan(view, view.running), self.alpha)
        lengths = self._plan(view, waiting).tolist()
        rows = zip(waiting.tolist(), view.prompt[waiting].tolist(), lengths, strict=True)
        return walk(view, check, rows, skip=False)


class WholeQueueWait(Wait):
    """The replaced ``Wait.schedule``: classes, ranks and counts over the whole queue."""

    def schedule(self, view: StateView) -> list[int]:
        if view is not self._view:
            self._start(view)
        self._learn(view)
        waiting = view.waiting
        limit, stage = self.limits(view)
        running = np.bincount(self._class[view.running], minlength=MAX_CLASSES)
        need = np.minimum(stage, np.floor(limit).astype(np.int64) - running)
        classes = self._class[waiting]
        order = np.argsort(classes, kind="stable")  # by class, then arrival
        sorted_classes = classes[order]
        first = np.searchsorted(sorted_classes, sorted_classes, side="left")
        rank = np.arange(order.size) - first
        waiting_count = np.bincount(classes, minlength=MAX_CLASSES)
        launch = (need >= 1) & (waiting_count >= need)
        chosen = launch[sorted_classes] & (rank < need[sorted_classes])
        launched = waiting[order[chosen]]
        if launched.size == 0 and view.n_running == 0:
            return walk_prefix(view, [waiting], self.alpha)
        return walk_skipping(view, [launched], self.alpha) if launched.size else []


REWRITTEN = [
    ("vllm-fcfs", WholeQueueVLLMFCFS, {}),
    ("vllm-fcfs", WholeQueueVLLMFCFS, {"max_num_seqs": 3, "max_num_batched_tokens": 12}),
    ("vllm-v1", WholeQueueVLLMV1, {}),
    ("vllm-v1", WholeQueueVLLMV1, {"max_num_seqs": 2, "max_num_batched_tokens": 6}),
    ("alpha-greedy", WholeQueueAlphaGreedy, {"alpha": 0.2}),
    ("alpha-beta", None, {}),
    ("sf-no-lookahead", WholeQueueSFNoLookahead, {}),
    ("mc-benchmark", WholeQueueMCBenchmark, {}),
    ("nested-wait", WholeQueueNestedWait, {"first": 2}),
    ("wait", WholeQueueWait, {}),
    ("wait", WholeQueueWait, {"base": 1.5, "alpha": 0.1}),
]


@pytest.mark.parametrize(("name", "whole", "params"), REWRITTEN)
@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_rewritten_agents_equal_their_whole_queue_versions(
    name: str, whole, params: dict, time_model: str, data: st.DataObject
) -> None:
    instance, memory = data.draw(instances(time_model))
    seed = data.draw(st.integers(0, 2**16))
    fast = make_agent(name, **params)
    eviction = data.draw(st.sampled_from([fast.default_eviction, "newest-first"]))
    config = SimConfig(memory=memory, time_model=time_model, eviction=eviction, seed=seed)
    if whole is None:  # alpha-beta: alpha-greedy's admission with the check turned off
        whole_agent = WholeQueueAlphaGreedy(alpha=0.1)
        whole_agent.detect_livelock = False
    else:
        whole_agent = whole(**params)
    same_schedule(simulate(instance, fast, config), simulate(instance, whole_agent, config))


@settings(max_examples=200, deadline=None)
@given(
    memory=st.lists(st.integers(0, 40), max_size=10),
    cap=st.integers(0, 90),
    candidates=st.lists(st.tuples(st.integers(0, 9), st.integers(1, 14)), max_size=9),
)
def test_the_batch_kernel_adds_what_one_by_one_adds(memory, cap, candidates) -> None:
    profile = MemoryProfile(12)
    for h, held in enumerate(memory, start=1):  # a profile holding `memory` at 1..len
        profile.add(held - h, 0, h - 1, h)
    window = profile.window(0, len(memory))
    assert window.tolist() == memory
    plain = AdmissionCheck(window, cap)
    expected = 0
    for prompt, prediction in candidates:
        if not plain.fits(prompt, prediction):
            break
        plain.add(prompt, prediction)
        expected += 1
    prompts = np.array([prompt for prompt, _ in candidates], dtype=np.int64)
    lengths = np.array([prediction for _, prediction in candidates], dtype=np.int64)
    size = max([len(memory), *lengths.tolist(), 1])
    kernels_to_test = [kernels.add_while_fits]
    if candidates:  # the numpy path takes lists and needs at least one candidate
        kernels_to_test.append(
            lambda shifted, prompts, lengths, cap: add_while_fits_sliced(
                shifted, prompts.tolist(), lengths.tolist(), cap
            )
        )
    if COMPILED is not None:
        kernels_to_test.append(COMPILED)
    for kernel in kernels_to_test:
        shifted = np.zeros(size, dtype=np.int64)
        shifted[: len(memory)] = memory
        shifted += np.arange(1, size + 1)
        if AdmissionCheck(window, cap).feasible:
            assert kernel(shifted, prompts, lengths, float(cap)) == expected
            after = (shifted - np.arange(1, size + 1)).tolist()
            assert max([0, *after]) == plain.peak()
    if candidates:  # the check's own batch method: the same count and the same state
        batch = AdmissionCheck(window, cap)
        added = batch.add_while_fits(prompts.tolist(), lengths.tolist())
        assert added == expected
        assert batch.peak() == plain.peak()
        assert batch.feasible == plain.feasible


@pytest.fixture
def compile_at_once(monkeypatch: pytest.MonkeyPatch):
    """The compiled kernel from the first batch on (numba required)."""
    if COMPILED is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(kernels, "_tried", True)
    monkeypatch.setattr(kernels, "_compiled", COMPILED)


@pytest.mark.parametrize("time_model", ["unit", "linear"])
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mcsf_with_the_compiled_kernel_equals_the_plain_rule(
    compile_at_once, time_model: str, data: st.DataObject
) -> None:
    instance, memory = data.draw(instances(time_model))
    eviction = data.draw(st.sampled_from(EVICTIONS))
    config = SimConfig(memory=memory, time_model=time_model, eviction=eviction, seed=3)
    same_schedule(
        simulate(instance, make_agent("mcsf"), config),
        simulate(instance, make_agent("mcsf-reference"), config),
    )
    same_schedule(
        simulate(instance, make_agent("mc-benchmark"), config),
        simulate(instance, WholeQueueMCBenchmark(), config),
    )


def test_mcsf_asked_on_a_new_episode_without_a_reset_forgets_its_head():
    # The same head (id 0: s = 6, o = 6) at boundary 1 of two episodes, one admission in each
    # (the same profile version), M = 14. Beside request 1 of the first (s = 4, o = 3) it does
    # not fit until that one ends; beside request 1 of the second (s = 1) it fits at once.
    def at_boundary_one(prompt):
        engine = Engine(
            Instance(np.array([0.0, 0.0]), np.array([6, prompt]), np.array([6, 3])),
            SimConfig(memory=14),
        )
        engine.run_round([1])
        return engine.view

    agent = make_agent("mcsf")
    assert agent.schedule(at_boundary_one(4)) == []
    second = at_boundary_one(1)
    assert agent.schedule(second) == make_agent("mcsf").schedule(second) == [0]
