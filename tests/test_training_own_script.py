"""Off-the-shelf RL on the default environment, and saving/evaluating a model from a user script."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

import mcsf_gym  # noqa: F401
from agents import make_agent
from agents.learned import save_model
from mcsf_gym import simulate
from training.cli import main
from training.evaluate import evaluate_against_mcsf

ADMIT = "mcsf_gym/KVCacheScheduling-v0"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "learned_policy.md"


@pytest.fixture(scope="module")
def trained() -> MaskablePPO:
    """Plain MaskablePPO on the default environment, a few thousand steps, one thread."""
    torch.set_num_threads(1)
    env = VecNormalize(make_vec_env(ADMIT, n_envs=4, seed=0))
    return MaskablePPO("MlpPolicy", env, seed=0, n_steps=512).learn(4096)


def test_plain_maskable_ppo_on_the_default_env_finishes_its_episodes(trained) -> None:
    # The deterministic policy, played as a user would (predict with the env's masks).
    env = gym.make(ADMIT)
    normalizer = trained.get_vec_normalize_env()
    for seed in range(5):
        obs, info = env.reset(seed=1000 + seed)
        done = truncated = False
        steps = 0
        while not (done or truncated):
            mask = env.unwrapped.action_masks()
            assert np.array_equal(info["action_mask"], mask)
            action, _ = trained.predict(
                normalizer.normalize_obs(obs), deterministic=True, action_masks=mask
            )
            obs, _, done, truncated, info = env.step(int(action))
            steps += 1
        assert done and not truncated, f"seed {seed}: truncated after {steps} steps"
        assert info["invalid_actions"] == 0
        assert info["metrics"]["total_latency"] > 0


def test_save_model_then_one_call_evaluation_against_mcsf(trained, tmp_path) -> None:
    folder = tmp_path / "mine"
    path = save_model(trained, folder)  # the env defaults to model.get_env()
    config = json.loads((folder / "config.json").read_text())
    assert (config["algo"], config["env_id"], config["env_kwargs"]) == ("maskable-ppo", ADMIT, {})
    assert path == folder / "model.zip" and (folder / "vecnormalize.pkl").is_file()
    summary = evaluate_against_mcsf(folder, seeds=4)
    assert summary["n"] == 4
    assert summary["ratio_to_mcsf"] == pytest.approx(
        summary["model_mean_latency"] / summary["mcsf_mean_latency"]
    )
    assert summary["difference_low"] <= summary["difference"] <= summary["difference_high"]
    # The folder is an ordinary agent: the evaluation is simulate on the env's scenarios.
    agent, mcsf = make_agent(f"maskable-ppo:{folder}"), make_agent("mcsf")
    env = gym.make(ADMIT)
    model_latency, mcsf_latency = [], []
    for seed in range(20_000, 20_004):
        env.reset(seed=seed)
        engine = env.unwrapped.engine
        model_latency.append(simulate(engine.instance, agent, engine.config).mean_latency)
        mcsf_latency.append(simulate(engine.instance, mcsf, engine.config).mean_latency)
    assert summary["model_mean_latency"] == pytest.approx(np.mean(model_latency))
    assert summary["mcsf_mean_latency"] == pytest.approx(np.mean(mcsf_latency))


def test_save_model_records_env_kwargs_and_drops_a_stale_normalizer(tmp_path) -> None:
    torch.set_num_threads(1)
    env = make_vec_env(ADMIT, n_envs=1, env_kwargs={"workload": "paper-model2:n=10", "window": 4})
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=32, seed=0)
    (tmp_path / "vecnormalize.pkl").write_bytes(b"stale")
    save_model(model, tmp_path, env)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["env_kwargs"] == {"workload": "paper-model2:n=10", "window": 4}
    assert not (tmp_path / "vecnormalize.pkl").exists()
    make_agent(f"maskable-ppo:{tmp_path}")  # loads: spaces match the saved settings


def test_save_model_refuses_what_it_cannot_load(tmp_path) -> None:
    env = make_vec_env(ADMIT, n_envs=1)
    with pytest.raises(ValueError, match="MaskablePPO or PPO model, got A2C"):
        save_model(A2C("MlpPolicy", env), tmp_path)
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=32)
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        save_model(model, tmp_path, env_id=ADMIT, env_kwargs={"workload": object()})
    with pytest.raises(ValueError, match=r"'windw' \(did you mean 'window'\?\)"):
        save_model(model, tmp_path, env_id=ADMIT, env_kwargs={"windw": 4})


def test_damaged_or_mismatched_normalizer_fails_at_load_with_a_clear_error(trained, tmp_path):
    folder = tmp_path / "m"
    save_model(trained, folder)
    stats = folder / "vecnormalize.pkl"
    good = stats.read_bytes()
    stats.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="damaged VecNormalize statistics"):
        make_agent(f"maskable-ppo:{folder}")
    stats.write_bytes(pickle.dumps({"not": "stats"}))
    with pytest.raises(ValueError, match="not VecNormalize statistics"):
        make_agent(f"maskable-ppo:{folder}")
    # Statistics of a run with another window (66 features) beside a 72-feature model.
    other = VecNormalize(make_vec_env(ADMIT, n_envs=1, env_kwargs={"window": 7}))
    other.save(str(stats))
    with pytest.raises(ValueError, match=r"observation shape \(66,\) do not match .*\(72,\)"):
        make_agent(f"maskable-ppo:{folder}")


def _docs_snippet(path: Path = DOCS) -> str:
    text = path.read_text()
    block = re.search(
        r"<!-- train-your-own:start -->\n```python\n(.*?)```\n<!-- train-your-own:end -->",
        text,
        re.DOTALL,
    )
    assert block, "the train-your-own block is missing from docs/learned_policy.md"
    return block.group(1)


@pytest.mark.slow
def test_the_docs_snippet_runs_with_a_small_budget(tmp_path, monkeypatch, capsys) -> None:
    code = _docs_snippet()
    assert "torch.set_num_threads(1)" in code and ".learn(20_000)" in code
    monkeypatch.chdir(tmp_path)
    small = code.replace(".learn(20_000)", ".learn(1_024)").replace("seeds=30", "seeds=3")
    exec(compile(small, "docs/learned_policy.md", "exec"), {})
    assert (tmp_path / "runs" / "mine" / "model.zip").is_file()
    assert "'ratio_to_mcsf'" in capsys.readouterr().out


@pytest.mark.slow
def test_the_docs_snippet_runs_as_written(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(_docs_snippet(), "docs/learned_policy.md", "exec"), {})
    summary = capsys.readouterr().out
    assert "'n': 30" in summary


def test_mcsf_train_prints_evaluations_and_a_summary(tmp_path, capsys) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        f'out = "{tmp_path / "run"}"\ntotal_timesteps = 512\nn_envs = 1\neval_freq = 256\n'
        "eval_seeds = [10000, 10001]\ncheckpoint_freq = 0\nprogress_bar = false\n"
        "net_arch = [16]\n[env_kwargs]\nworkload = \"paper-model2:n=10\"\nwindow = 4\n"
        "[algo_kwargs]\nn_steps = 128\nbatch_size = 64\nn_epochs = 1\n"
    )
    assert main(["--config", str(toml)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"step 256: mean latency [\d.]+ vs MC-SF [\d.]+ on 2 held-out", out)
    assert re.search(r"step 512: .*\(ratio [\d.]+\)", out)
    assert re.search(r"done: model .*model.zip; best evaluation at \d+ steps", out)


def test_mcsf_train_without_arguments_or_with_a_typo_explains(tmp_path, capsys) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "give --config" in err and "smoke" in err
    toml = tmp_path / "typo.toml"
    toml.write_text('total_timesteps = 100\n[env_kwargs]\nwindw = 4\n')
    assert main(["--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'windw' (did you mean 'window'?)" in err


def test_mcsf_train_help_has_no_docstring_markup(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and "advance_rule" in text


def test_training_without_torch_names_the_extra(monkeypatch, tmp_path) -> None:
    import builtins

    from training.config import TrainConfig
    from training.train import train

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match=r"pip install 'mcsf-gym\[train\]'"):
        train(TrainConfig(out=str(tmp_path)))


def test_the_readme_shows_the_tested_snippet() -> None:
    assert _docs_snippet(DOCS.parent.parent / "README.md") == _docs_snippet()
