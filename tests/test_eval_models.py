"""Trained models in ``mcsf-eval compare``: ``ppo:PATH`` runs; a bad model is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main

pytest.importorskip("stable_baselines3")

ENV_ID = "mcsf_gym/KVCacheScheduling-v0"


def save_model(folder: Path, window_trained: int, window_saved: int) -> Path:
    """An untrained PPO for the admit env with ``window_trained`` slots, whose config.json
    claims ``window_saved`` slots (different values: a model for another observation size)."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    import mcsf_gym  # noqa: F401  (registers the environments)

    folder.mkdir(parents=True)
    env = gym.make(ENV_ID, window=window_trained)
    PPO("MlpPolicy", env, n_steps=32, batch_size=32, seed=0, device="cpu").save(
        folder / "model.zip"
    )
    config = {"env_id": ENV_ID, "env_kwargs": {"window": window_saved}, "algo": "ppo"}
    config["work_conserving"] = True
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "ok": save_model(root / "ok", 4, 4),
        "other-size": save_model(root / "other-size", 4, 8),
    }


def test_compare_runs_a_trained_model(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"ppo:{models['ok']}"
    status = main(
        ["compare", "--agents", "mcsf", spec, "--workload", "lmsys:n=40", "--seeds", "2",
         "--workers", "1", "--no-progress", "--out", str(tmp_path)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert set(rows["agent"]) == {"mcsf", spec} and len(rows) == 4
    assert rows["mean_latency"].gt(0).all()
    assert spec in capsys.readouterr().out


def test_model_for_another_observation_size_is_one_line(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["compare", "--agents", f"ppo:{models['other-size']}", "--workload", "lmsys:n=10",
         "--seeds", "1", "--out", str(tmp_path)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("mcsf-eval: error: ") and "observation shape" in err
    assert "window" in err  # says what to fix


def test_model_loaded_with_the_wrong_algorithm_is_one_line(
    models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["compare", "--agents", f"maskable-ppo:{models['ok']}", "--workload", "lmsys:n=10",
         "--seeds", "1", "--out", str(tmp_path)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "'ppo:" in err
