"""The environment's fast paths against the plain rule and a plain re-implementation.

- ``AdmissionCheck.fits_many`` (a whole window asked at once, as the masks do) answers as
  ``fits`` asked one candidate at a time, on random profiles, caps and additions, on a copied
  window and on the engine's profile in place;
- the observation and the masks equal those computed directly from the view, feature by
  feature from the table of the environment's docstring, with the core's ``AdmissionCheck``,
  along random trajectories under every option.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcsf_gym  # noqa: F401
from mcsf_gym.core.lookahead import AdmissionCheck, MemoryProfile


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.lists(st.integers(0, 60), max_size=12),
    cap=st.floats(0, 80),
    steps=st.lists(
        st.tuples(st.booleans(), st.integers(0, 15), st.integers(0, 20)), min_size=1, max_size=12
    ),
)
def test_a_window_asked_at_once_gets_the_answers_of_one_at_a_time(profile, cap, steps):
    plain = AdmissionCheck(np.array(profile, dtype=np.int64), cap)
    fast = AdmissionCheck(np.array(profile, dtype=np.int64), cap)
    engine = MemoryProfile(len(profile) + 1)  # the same memory, held by the engine's profile
    for boundary, held in enumerate(profile, 1):
        engine.add(held, boundary, boundary - 1, boundary)  # held tokens at ``boundary`` alone
    in_place = AdmissionCheck.on_profile(engine, 0, len(profile), cap)
    assert fast.feasible == plain.feasible == in_place.feasible
    assert fast.peak() == plain.peak() == in_place.peak()
    for add, prompt, length in steps:
        candidates = [(prompt, length), (prompt + 1, length - 3), (0, length + 5)]
        expected = [plain.fits(s, p) for s, p in candidates]
        prompts, lengths = [s for s, _ in candidates], [p for _, p in candidates]
        assert fast.fits_many(prompts, lengths) == expected
        assert in_place.fits_many(prompts, lengths) == expected
        if add:
            plain.add(prompt, length)
            fast.add(prompt, length)
            in_place.add(prompt, length)
        assert fast.feasible == plain.feasible == in_place.feasible
        assert fast.peak() == plain.peak() == in_place.peak()
    assert fast.fits_many([], []) == []


def test_a_window_asked_at_once_on_long_profiles():
    rng = np.random.default_rng(0)
    for _ in range(40):
        profile = rng.integers(0, 500, size=int(rng.integers(200, 700)))
        cap = float(rng.integers(400, 1500))
        plain = AdmissionCheck(profile.copy(), cap)
        fast = AdmissionCheck(profile.copy(), cap)
        for _ in range(6):
            prompts = rng.integers(0, 300, size=8).tolist()
            lengths = rng.integers(-2, 900, size=8).tolist()
            expected = [plain.fits(s, p) for s, p in zip(prompts, lengths, strict=True)]
            assert fast.fits_many(prompts, lengths) == expected
            prompt, length = int(rng.integers(0, 5)), int(rng.integers(1, 800))
            plain.add(prompt, length)
            fast.add(prompt, length)
            assert fast.feasible == plain.feasible and fast.peak() == plain.peak()


def reference_observation(base):
    """The flat observation, feature by feature from the docstring table (plain numpy)."""
    boundary = base.boundary
    view = boundary.view
    encoder = base.observation_type.encoder
    window, bins, scale = encoder.window, encoder.bins, encoder.time_scale
    memory = view.memory
    unit = view.idle_duration
    pending = list(boundary.pending)
    waiting = [int(i) for i in view.waiting if int(i) not in pending]
    if base.config.order == "prediction":
        waiting.sort(key=lambda i: (int(view.prediction[i]), i))
    check = view.admission_check(base.config.alpha)
    for request in pending:
        check.add(int(view.prompt[request]), int(view.predicted_length([request])[0]))
    next_round = view.memory_in_use + view.n_running + sum(int(view.prompt[i]) + 1 for i in pending)
    elapsed = max(0.0, view.time - float(view.arrival[0])) / unit
    last = view.last_duration / unit
    values = [
        view.memory_in_use / memory,
        min(1.0, next_round / memory),
        min(1.0, check.peak() / memory),
        len(waiting) / (len(waiting) + window),
        len(pending) / (len(pending) + window),
        view.n_running / (view.n_running + window),
        elapsed / (elapsed + scale),
        last / (last + 1.0),
    ]
    fits = []
    for k in range(window):
        if k >= len(waiting):
            values += [0.0] * 6
            continue
        request = waiting[k]
        prompt = int(view.prompt[request])
        length = int(view.predicted_length([request])[0])
        waited = (view.time - float(view.arrival[request])) / unit
        fits.append(check.fits(prompt, length))
        values += [
            1.0,
            math.log1p(prompt) / math.log1p(memory),
            math.log1p(length) / math.log1p(memory),
            waited / (waited + scale),
            float(fits[-1]),
            float(next_round + prompt + 1 <= memory),
        ]
    running = view.running
    produced = view.produced(running)
    remaining = view.predicted_length(running) - produced
    counts, held = np.zeros(bins), np.zeros(bins)
    for left, tokens in zip(remaining, view.prompt[running] + produced, strict=True):
        index = min(math.floor(math.log2(max(int(left), 1))), bins - 1)
        counts[index] += 1
        held[index] += tokens
    values += list(counts / max(1, running.size)) + list(np.minimum(1.0, held / memory))
    return np.array(values), waiting, pending, fits, next_round


def reference_masks(base, waiting, pending, fits, next_round):
    """The action mask from the masking rule of the docstring."""
    config = base.config
    view = base.boundary.view
    window = config.window
    free = config.masking == "none" or (not pending and not view.n_running)
    slots = []
    for k, request in enumerate(waiting[:window]):
        if free:
            slots.append(True)
        elif config.masking == "lookahead":
            slots.append(fits[k])
        else:
            slots.append(next_round + int(view.prompt[request]) + 1 <= view.memory)
    slots += [False] * (window - len(slots))
    if config.action == "priority":
        return slots
    idle = not config.allow_idle and not pending and not view.n_running and bool(waiting)
    return [*slots, not idle]


OPTIONS = [
    {},
    {"order": "arrival", "masking": "next-round"},
    {"masking": "none", "eviction": "random:beta=0.3", "allow_idle": True},
    {"alpha": 0.25, "window": 3, "observation": "flat:bins=5,time_scale=9"},
    {"workload": "paper-model1:n=30", "time_model": "linear", "prediction": "noisy:eps=0.6"},
    {"workload": "lmsys:n=60", "window": 16},
    {"action": "priority", "masking": "next-round"},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_observations_and_masks_equal_the_plain_computation(options):
    options = {"workload": "paper-model2:n=20", "max_steps": 400, **options}
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", **options)
    base = env.unwrapped
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=4)
    states = 0
    for _ in range(600):
        expected, *state = reference_observation(base)
        np.testing.assert_allclose(obs, expected.astype(np.float32), rtol=1e-6, atol=0)
        mask = reference_masks(base, *state)
        assert info["action_mask"].tolist() == mask == base.action_masks().tolist()
        states += 1
        if base.config.action == "priority":
            action = rng.uniform(-1, 1, base.config.window).astype(np.float32)
        elif rng.random() < 0.2:
            action = int(rng.integers(base.config.window + 1))  # possibly invalid
        else:
            action = int(rng.choice(np.flatnonzero(mask)))
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
    assert states == 600
