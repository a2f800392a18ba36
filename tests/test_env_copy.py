"""An environment copied mid-episode (``copy.deepcopy``, ``pickle``) goes on as the original.

Planning methods and some RL tools copy environments; the copy must own its state (the engine's
status bytes and their array views, the compiled backend's arrays) and step exactly as the
original would.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest

from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv
from mcsf_gym.env.native import numba_available

BACKENDS = ["python", "compiled"] if numba_available() else ["python"]


def duplicate(env, how):
    return copy.deepcopy(env) if how == "deepcopy" else pickle.loads(pickle.dumps(env))


def random_allowed(env, rng):
    allowed = np.flatnonzero(env.action_masks())
    return int(allowed[rng.integers(allowed.size)])


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_steps_as_the_original_and_owns_its_state(backend, how):
    env = KVCacheSchedulingEnv(
        workload="paper-model2:n=30", backend=backend, eviction="newest-first"
    )
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    for _ in range(5):
        env.step(random_allowed(env, rng))
    twin = duplicate(env, how)
    original_mask = env.action_masks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation
        for step in range(3000):
            action = random_allowed(twin, rng)
            ours = twin.step(action)
            if step == 0:  # stepping the copy left the original where it was
                np.testing.assert_array_equal(env.action_masks(), original_mask)
            theirs = env.step(action)
            np.testing.assert_array_equal(ours[0], theirs[0])
            assert ours[1:4] == theirs[1:4], step
            if ours[2] or ours[3]:
                break
    assert ours[2], "the episode ran to its end"
    np.testing.assert_array_equal(ours[4]["result"].finish, theirs[4]["result"].finish)
    view = twin.engine.view  # the Python objects are the copy's own, consistent view
    assert bytes(view.statuses) == np.asarray(view.status).tobytes()
    assert view is not env.engine.view
