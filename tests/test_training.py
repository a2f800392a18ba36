"""Training pipeline (mcsf-train) and the learned-agent adapter (agents.learned)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import gymnasium as gym

import mcsf_gym  # noqa: F401
from agents import make_agent, run_agent
from agents.learned import (
    normalizer_path_for,
    restrict_advance,
    restrict_scores,
)
from mcsf_gym import Instance, simulate
from training.cli import main
from training.config import TrainConfig
from training.heldout import paired_table

WORKLOAD = "paper-model2:n=12"


def _config(out: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = {
        "algo": "maskable-ppo",
        "env_id": "mcsf_gym/KVCacheScheduling-v0",
        "env_kwargs": {"workload": WORKLOAD, "window": 4},
        "n_envs": 2,
        "vec_env": "dummy",
        "total_timesteps": 1024,
        "out": str(out),
        "net_arch": (16, 16),
        "algo_kwargs": {"n_steps": 128, "batch_size": 64, "n_epochs": 1},
        "eval_freq": 512,
        "eval_seeds": (10_000, 10_001),
        "checkpoint_freq": 512,
        "progress_bar": False,
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def _write_toml(config: TrainConfig, path: Path) -> Path:
    lines = []
    tables = {}
    for key, value in config.to_dict().items():
        if isinstance(value, dict):
            tables[key] = value
        else:
            lines.append(
                f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}"
            )
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One smoke training run through the CLI (a few thousand steps in all)."""
    out = tmp_path_factory.mktemp("run")
    toml = _write_toml(_config(out), out.parent / f"{out.name}.toml")
    assert main(["--config", str(toml), "--no-progress"]) == 0
    return out


def test_run_writes_model_config_normalizer_checkpoints_and_evaluations(run: Path) -> None:
    for name in ("model.zip", "vecnormalize.pkl", "config.json", "best_model.zip"):
        assert (run / name).is_file(), name
    assert (run / "best_model_vecnormalize.pkl").is_file()
    assert (run / "checkpoints" / "model_1024_steps.zip").is_file()
    assert (run / "checkpoints" / "model_vecnormalize_1024_steps.pkl").is_file()
    assert any((run / "tb").rglob("events.out.tfevents.*"))
    saved = json.loads((run / "config.json").read_text())
    assert saved["env_kwargs"] == {"workload": WORKLOAD, "window": 4}
    assert saved["algo"] == "maskable-ppo"
    evaluations = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [e["timesteps"] for e in evaluations] == [512, 1024]
    for entry in evaluations:
        assert entry["ratio_to_mcsf"] == pytest.approx(
            entry["model_mean_latency"] / entry["mcsf_mean_latency"]
        )


def test_resume_continues_from_a_checkpoint(run: Path, tmp_path: Path) -> None:
    from sb3_contrib import MaskablePPO

    resumed = tmp_path / "resumed"
    toml = _write_toml(_config(resumed), tmp_path / "resume.toml")
    checkpoint = run / "checkpoints" / "model_512_steps.zip"
    code = main(
        [
            *("--config", str(toml), "--resume", str(checkpoint), "--total-timesteps", "256"),
            *("--eval-freq", "0", "--checkpoint-freq", "0", "--no-progress"),
        ]
    )
    assert code == 0
    model = MaskablePPO.load(resumed / "model.zip")
    assert model.num_timesteps >= 512 + 256
    assert (resumed / "vecnormalize.pkl").is_file()


def test_adapter_matches_the_model_playing_the_environment(run: Path) -> None:
    """make_agent('maskable-ppo:PATH') under simulate == the model stepping the env."""
    import pickle

    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(run / "model.zip")
    with (run / "vecnormalize.pkl").open("rb") as handle:
        normalizer = pickle.load(handle)
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", workload=WORKLOAD, window=4)
    for seed in (3, 4):
        obs, _ = env.reset(seed=seed)
        engine = env.unwrapped.engine
        done = False
        while not done:
            mask = restrict_advance(obs, env.unwrapped.action_masks(), "idle")
            action, _ = model.predict(
                normalizer.normalize_obs(obs), deterministic=True, action_masks=mask
            )
            obs, _, terminated, truncated, info = env.step(int(action))
            done = terminated or truncated
        assert terminated
        agent = make_agent(f"maskable-ppo:{run}")
        result = simulate(engine.instance, agent, engine.config)
        np.testing.assert_array_equal(result.finish, info["result"].finish)


def test_adapter_runs_under_run_agent_with_the_training_eviction(run: Path) -> None:
    agent = make_agent(f"maskable-ppo:{run}")
    assert agent.default_eviction == "clear-all"
    instance = Instance(arrival=[0, 0, 1, 3], prompt=[2, 2, 3, 1], output=[3, 2, 4, 1])
    result = run_agent(instance, agent, memory=12, time_model="unit")
    assert np.isfinite(result.finish).all()
    assert (result.finish >= instance.arrival + instance.output).all()
    best = run_agent(
        instance, f"maskable-ppo:{run / 'best_model.zip'}", memory=12, time_model="unit"
    )
    assert np.isfinite(best.finish).all()


def test_missing_model_is_one_clear_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no trained model at") as error:
        make_agent(f"maskable-ppo:{tmp_path / 'nothing'}")
    assert "\n" not in str(error.value)


def test_model_for_another_observation_size_is_one_clear_value_error(
    run: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("tb", "checkpoints"))
    saved = json.loads((other / "config.json").read_text())
    saved["env_kwargs"]["window"] = 6
    (other / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"observation shape .*window=4") as error:
        make_agent(f"maskable-ppo:{other}")
    assert "\n" not in str(error.value)


def test_wrong_algorithm_or_missing_config_is_a_value_error(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="trained with algo 'maskable-ppo'"):
        make_agent(f"ppo:{run}")
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(run / "model.zip", lone / "model.zip")
    with pytest.raises(ValueError, match=r"no config\.json"):
        make_agent(f"maskable-ppo:{lone}")


def test_ppo_trains_the_priority_mode_and_loads_as_ppo(tmp_path: Path) -> None:
    from training.train import train

    config = _config(
        tmp_path,
        algo="ppo",
        env_id="mcsf_gym/KVCacheSchedulingPriority-v0",
        total_timesteps=256,
        eval_freq=256,
        checkpoint_freq=0,
        algo_kwargs={"n_steps": 128, "batch_size": 64, "n_epochs": 1},
    )
    train(config)
    instance = Instance(arrival=[0, 0, 2], prompt=[2, 2, 1], output=[3, 2, 2])
    result = run_agent(instance, f"ppo:{tmp_path}", memory=8, time_model="unit")
    assert np.isfinite(result.finish).all()


def test_config_rejects_bad_values_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="algo"):
        _config(tmp_path, algo="dqn")
    with pytest.raises(ValueError, match="cannot train the 'priority'"):
        _config(tmp_path, env_id="mcsf_gym/KVCacheSchedulingPriority-v0")
    with pytest.raises(ValueError, match="n_envs must be an integer >= 1, got 0"):
        _config(tmp_path, n_envs=0)
    with pytest.raises(ValueError, match="unknown key"):
        TrainConfig.from_dict({"algo": "ppo", "learning_rate": 1e-3})


def test_cli_help_lists_every_option_and_user_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--config", "--out", "--total-timesteps", "--resume", "--n-envs", "--seed"):
        assert option in text
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "no config file" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('algo = "maskable-ppo"\n[env_kwargs]\nwindow = 0\n')
    assert main(["--config", str(bad), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "window" in capsys.readouterr().err


def test_advance_rules() -> None:
    idle = np.zeros(72, dtype=np.float32)
    busy = idle.copy()
    busy[5] = 0.5  # running requests
    mask = np.array([True, False, True])
    none_open = np.array([False, False, True])
    assert restrict_advance(idle, mask, "free").tolist() == [True, False, True]
    assert restrict_advance(idle, mask, "idle").tolist() == [True, False, False]
    assert restrict_advance(busy, mask, "idle").tolist() == [True, False, True]
    assert restrict_advance(busy, mask, "greedy").tolist() == [True, False, False]
    for rule in ("free", "idle", "greedy"):
        assert restrict_advance(idle, none_open, rule).tolist() == [False, False, True]
    scores = np.array([-0.5, -0.1, -0.9], dtype=np.float32)
    allowed = np.array([True, False, True])
    np.testing.assert_allclose(restrict_scores(idle, scores, allowed, "idle"), [0.0, -0.1, -0.9])
    np.testing.assert_allclose(restrict_scores(busy, scores, allowed, "idle"), scores)
    np.testing.assert_allclose(
        restrict_scores(busy, scores, allowed, "greedy"), [0.25, 0.45, 0.05], rtol=1e-6
    )


def test_greedy_rule_trains_and_never_leaves_an_admissible_slot(tmp_path: Path) -> None:
    """Under "greedy" the agent admits until no shown request passes the look-ahead check."""
    from training.train import train

    config = _config(
        tmp_path,
        advance_rule="greedy",
        env_kwargs={"workload": [WORKLOAD, "paper-model1:n=6"], "window": 4},
        total_timesteps=256,
        eval_freq=256,
        checkpoint_freq=0,
    )
    train(config)
    agent = make_agent(f"maskable-ppo:{tmp_path}")
    env = gym.make("mcsf_gym/KVCacheScheduling-v0", workload=WORKLOAD, window=4)
    obs, _ = env.reset(seed=7)
    agent.reset(np.random.default_rng(0))
    masks = env.unwrapped.action_masks()
    action = agent.policy(obs, masks)
    assert action != 4 or not masks[:4].any()


def test_normalizer_paths_pair_with_model_files(tmp_path: Path) -> None:
    assert normalizer_path_for(tmp_path / "model.zip") == tmp_path / "vecnormalize.pkl"
    assert normalizer_path_for(tmp_path / "best_model.zip") == (
        tmp_path / "best_model_vecnormalize.pkl"
    )
    assert normalizer_path_for(tmp_path / "model_512_steps.zip") == (
        tmp_path / "model_vecnormalize_512_steps.pkl"
    )


def test_paired_table_by_hand() -> None:
    rows = [
        {"agent": "mcsf", "seed": 1, "mean_latency": 10.0},
        {"agent": "mcsf", "seed": 2, "mean_latency": 20.0},
        {"agent": "x", "seed": 1, "mean_latency": 9.0},
        {"agent": "x", "seed": 2, "mean_latency": 17.0},
    ]
    x, base = paired_table(rows, ["x", "mcsf"], "mcsf")
    assert x["mean_latency"] == 13.0
    assert x["difference"] == -2.0
    assert x["difference_share"] == pytest.approx(-2.0 / 15.0)
    assert x["mean_ratio"] == pytest.approx((0.9 + 0.85) / 2)
    assert base["difference"] == 0.0


def test_importing_agents_and_training_loads_no_torch() -> None:
    code = (
        "import sys, agents, training, training.cli, training.config, training.heldout; "
        "heavy = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
