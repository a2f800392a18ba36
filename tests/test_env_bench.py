"""The environment benchmark script runs on a tiny budget and reports what it promises."""

import json

import pytest
from script_loader import load_script as load


def load_script():
    return load("benchmarks/bench_env.py")


@pytest.mark.parametrize(
    "env_id", ["mcsf_gym/KVCacheScheduling-v0", "mcsf_gym/KVCacheSchedulingPriority-v0"]
)
def test_bench_env_reports_rates_and_the_cartpole_ratio(env_id, tmp_path, capsys):
    bench = load_script()
    out = tmp_path / "bench.json"
    argv = ["--id", env_id, "--workload", "paper-model2:n=10", "--steps", "300", "--repeats", "1"]
    assert bench.main([*argv, "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["cartpole_steps_per_s"] > 0
    assert sorted(printed["backends"]) == ["compiled", "python"]
    for entry in printed["backends"].values():
        assert entry["env_steps_per_s"] > 0
        assert entry["ratio_to_cartpole"] == pytest.approx(
            entry["env_steps_per_s"] / printed["cartpole_steps_per_s"]
        )
        assert entry["vector_ratio_to_cartpole"] == pytest.approx(
            entry["vector_steps_per_s"] / printed["cartpole_steps_per_s"]
        )
        assert entry["env_episodes"] >= 1  # episodes end and are reset inside the timed loop


def test_bench_env_help_and_bad_arguments(capsys):
    bench = load_script()
    with pytest.raises(SystemExit) as done:
        bench.main(["--help"])
    assert done.value.code == 0 and "CartPole-v1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        bench.main(["--steps", "0"])
    assert done.value.code == 2 and "--steps must be >= 1" in capsys.readouterr().err
