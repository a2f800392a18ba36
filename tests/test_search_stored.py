"""Stored schedules: a good record verifies, every kind of false claim is caught."""

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.hindsight.stored import check_record, main, record, verify_file
from mcsf_gym import Instance
from mcsf_gym.workloads import make_workload

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(ROOT.glob("results/hindsight_*/*.json"))

# docs/model.md's worked example: B alone at 0, A at 1, TEL 6 with M = 7.
EXAMPLE = Instance([0, 0], [2, 2], [3, 2])


def test_a_true_record_verifies() -> None:
    assert check_record(record(EXAMPLE, 7, 6, [1, 0], bound=6)) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": 5}, "claims 5"),
        ({"start": [0, 0]}, "did not keep every start"),  # 8 tokens at t = 2 > 7
        ({"start": [1]}, "1 entries for 2 requests"),
        ({"bound": 7}, "exceeds the value"),
    ],
)
def test_false_claims_are_caught(change, message) -> None:
    entry = record(EXAMPLE, 7, 6, [1, 0], bound=6) | change
    assert message in check_record(entry)


def test_a_record_must_be_the_instance_its_seed_draws() -> None:
    scenario = make_workload("paper-model2:n=6").sample(np.random.default_rng(0))
    inst, memory = scenario.instance, scenario.memory
    from agents import run_agent

    mcsf = run_agent(inst, "mcsf", memory=memory, time_model="unit")
    entry = record(inst, memory, int(mcsf.total_latency), np.rint(mcsf.start).astype(int))
    assert check_record(entry | {"workload": "paper-model2:n=6", "seed": 0}) is None
    assert "not the one" in check_record(entry | {"workload": "paper-model2:n=6", "seed": 1})


def test_the_command_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "s.json"
    good = record(EXAMPLE, 7, 6, [1, 0])
    path.write_text(json.dumps({"schedules": [good, good | {"value": 5}]}))
    assert main([str(path)]) == 1
    assert "1 of 2 schedules verified" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="not a schedule file"):
        verify_file(tmp_path / "bad.json")


@pytest.mark.skipif(not COMMITTED, reason="no committed schedule files")
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_every_committed_schedule_verifies(path: Path) -> None:
    assert verify_file(path) == []


def test_summary_of_a_table_by_hand() -> None:
    from evaluation.hindsight.paper_search import parse_seeds, summarize

    records = [
        {"value": 100, "mcsf_value": 110, "committed_best": 105, "bound": 90, "search_seconds": 1},
        {"value": 50, "mcsf_value": 50, "committed_best": 50, "bound": 50, "search_seconds": 3},
    ]
    summary = summarize(records)
    assert summary["mcsf_over_best_average"] == pytest.approx((1.1 + 1.0) / 2)
    assert summary["better_than_committed"] == 1 and summary["equal_to_committed"] == 1
    assert summary["gain_over_committed_average"] == pytest.approx((5 / 105) / 2)
    assert summary["proven_optimal"] == 1 and summary["mcsf_equals_best"] == 1
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("4,7") == [4, 7]
    with pytest.raises(ValueError, match="seeds"):
        parse_seeds("a-b")
