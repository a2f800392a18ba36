"""The decision-time benchmark script on tiny workloads: the table, the JSON, its errors."""

import json
import os
from pathlib import Path

import pytest
from script_loader import load_script as load


def load_script():
    return load("benchmarks/bench_agents.py")


def test_mcsf_and_the_plain_rule_give_one_schedule_and_a_speed_up(tmp_path, capsys):
    out = tmp_path / "agents.json"
    argv = ["--n", "120", "--rate", "20", "--time-model", "unit", "--agents", "sorted-f"]
    summary = load_script().main([*argv, "--out", str(out)])
    assert summary == json.loads(out.read_text())
    assert summary["identical_schedules"] is True
    assert [row["agent"] for row in summary["runs"]] == ["mcsf", "mcsf-reference", "sorted-f"]
    assert all(row["n"] == 120 and row["decisions"] > 0 for row in summary["runs"])
    assert summary["speedup_decision_mean"] > 0
    assert "speed-up on 120 requests" in capsys.readouterr().out


def test_any_workload_spec_with_a_reference_on_its_first_requests():
    summary = load_script().main(
        ["--workload", "paper-model2:n=60", "--memory", "500", "--n-reference", "25", "--agents"]
    )
    assert [row["n"] for row in summary["runs"]] == [60, 25, 25]  # mcsf, mcsf again, reference
    assert summary["n_reference"] == 25 and summary["identical_schedules"] is True


@pytest.mark.skipif(
    not (Path(os.environ.get("MCSF_GYM_DATA", "")) / "azure_llm_2023_code.csv").is_file(),
    reason="needs the Azure trace in $MCSF_GYM_DATA",
)
def test_a_dataset_placeholder_names_a_trace():
    summary = load_script().main(
        [
            "--workload",
            "trace:path={data:azure-code-2023},n=80,memory=16492",
            "--n-reference",
            "20",
            "--agents",
        ]
    )
    assert summary["runs"][0]["n"] == 80


def test_a_bad_workload_is_one_clear_error():
    with pytest.raises(SystemExit, match="--workload 'no-such-workload'"):
        load_script().main(["--workload", "no-such-workload", "--agents"])
