"""The whole-queue deep-set policy (training.policies): shapes, padding, permutations, loading."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_util import make_vec_env

import mcsf_gym  # noqa: F401
from agents import make_agent
from agents.learned import save_model
from mcsf_gym import simulate
from training.config import TrainConfig
from training.policies import SlotScoringPolicy, split_observation

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
K = 6


def _model(pool: str = "mean", positional: bool = False) -> MaskablePPO:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = make_vec_env(ADMIT, n_envs=1, env_kwargs={"window": K, "workload": "paper-model2:n=15"})
    kwargs = {"window": K, "embed": 16, "pool": pool, "positional": positional}
    return MaskablePPO(SlotScoringPolicy, env, policy_kwargs=kwargs, seed=0)


@pytest.fixture(
    scope="module",
    params=[("mean", False), ("mean-max", False), ("mean-max", True)],
    ids=["mean", "mean-max", "mean-max-positional"],
)
def model(request) -> MaskablePPO:
    return _model(*request.param)


def _observations(n: int = 12) -> np.ndarray:
    env = gym.make(ADMIT, window=K, workload="paper-model2:n=15")
    rows = []
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    while len(rows) < n:
        rows.append(obs)
        mask = env.unwrapped.action_masks()
        obs, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if done:
            obs, _ = env.reset()
    return np.asarray(rows)


def _logits_and_values(model: MaskablePPO, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    policy = model.policy
    with torch.no_grad():
        tensor = torch.as_tensor(obs)
        features = policy.extract_features(tensor, policy.pi_features_extractor)
        latent_pi, latent_vf = policy.mlp_extractor(features)
        return policy.action_net(latent_pi).numpy(), policy.value_net(latent_vf).numpy()


def _permute_slots(obs: np.ndarray, order: list[int]) -> np.ndarray:
    out = obs.copy()
    slots = obs[:, 8 : 8 + 6 * K].reshape(len(obs), K, 6)
    out[:, 8 : 8 + 6 * K] = slots[:, order].reshape(len(obs), -1)
    return out


def test_shapes_and_split(model) -> None:
    obs = _observations()
    logits, values = _logits_and_values(model, obs)
    assert logits.shape == (len(obs), K + 1) and values.shape == (len(obs), 1)
    context, slots, occupied = split_observation(torch.as_tensor(obs), K)
    assert context.shape == (len(obs), 8 + 16) and slots.shape == (len(obs), K, 6)
    np.testing.assert_array_equal(occupied.numpy(), obs[:, 8 : 8 + 6 * K : 6] > 0.5)


def test_scores_are_permutation_equivariant_and_the_value_invariant(model) -> None:
    # Positions carry no meaning: padding moved elsewhere is still padding (occupied = 0).
    full = _observations()
    order = [3, 0, 5, 1, 4, 2]
    logits, values = _logits_and_values(model, full)
    logits_p, values_p = _logits_and_values(model, _permute_slots(full, order))
    if model.policy.features_extractor.positional:
        # Ranks are inputs: the same requests in other slots score differently.
        assert not np.allclose(logits_p[:, :K], logits[:, order], atol=1e-4)
        return
    np.testing.assert_allclose(logits_p[:, :K], logits[:, order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits_p[:, K], logits[:, K], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values_p, values, rtol=1e-5, atol=1e-6)


def test_padding_slots_do_not_influence_scores_or_value(model) -> None:
    obs = _observations(40)
    partial = obs[~obs[:, 8 : 8 + 6 * K : 6].all(axis=1)]
    assert len(partial), "some observation should have an empty slot"
    noisy = partial.copy()
    rng = np.random.default_rng(1)
    for row in noisy:
        for slot in range(K):
            if row[8 + 6 * slot] == 0:  # padding: garbage in every feature but "occupied"
                row[8 + 6 * slot + 1 : 8 + 6 * slot + 6] = rng.uniform(0, 1, 5)
    logits, values = _logits_and_values(model, partial)
    logits_n, values_n = _logits_and_values(model, noisy)
    occupied = partial[:, 8 : 8 + 6 * K : 6] > 0.5
    np.testing.assert_allclose(logits_n[:, :K][occupied], logits[:, :K][occupied], atol=1e-6)
    np.testing.assert_allclose(logits_n[:, K], logits[:, K], atol=1e-6)
    np.testing.assert_allclose(values_n, values, atol=1e-6)


def test_masked_actions_are_never_chosen_and_the_model_saves_and_loads(model, tmp_path) -> None:
    env = gym.make(ADMIT, window=K, workload="paper-model2:n=15")
    obs, info = env.reset(seed=5)
    for _ in range(30):
        action, _ = model.predict(obs, deterministic=True, action_masks=info["action_mask"])
        assert info["action_mask"][int(action)]
        obs, _, done, _, info = env.step(int(action))
        if done:
            obs, info = env.reset()
    save_model(model, tmp_path)
    agent = make_agent(f"maskable-ppo:{tmp_path}")
    env.reset(seed=7)
    engine = env.unwrapped.engine
    assert simulate(engine.instance, agent, engine.config).mean_latency > 0


def test_the_policy_refuses_a_window_that_does_not_match() -> None:
    env = make_vec_env(ADMIT, n_envs=1, env_kwargs={"window": 4})
    with pytest.raises(ValueError, match="window=6 does not match"):
        MaskablePPO(SlotScoringPolicy, env, policy_kwargs={"window": 6})


def test_the_policy_refuses_an_unknown_pool() -> None:
    with pytest.raises(ValueError, match="pool must be one of mean, mean-max, got 'sum'"):
        _model(pool="sum")


def test_the_training_config_checks_slot_set_settings() -> None:
    TrainConfig(policy="slot-set", normalize_obs=False)
    with pytest.raises(ValueError, match="normalize_obs = false"):
        TrainConfig(policy="slot-set")
    with pytest.raises(ValueError, match="policy must be one of mlp, slot-set"):
        TrainConfig(policy="transformer")
    with pytest.raises(ValueError, match="flat observations"):
        TrainConfig(policy="slot-set", normalize_obs=False, env_kwargs={"observation": "dict"})
    with pytest.raises(ValueError, match="slot_pool must be one of mean, mean-max"):
        TrainConfig(policy="slot-set", normalize_obs=False, slot_pool="max")
    with pytest.raises(ValueError, match="slot_positional must be true or false"):
        TrainConfig(policy="slot-set", normalize_obs=False, slot_positional="yes")
