"""scripts/pick_teachers.py: the teacher table of the shipped generalist comes from its CSV."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parent.parent


def _module():
    return load_script("scripts/pick_teachers.py")


def _rows(path: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = list(csv.DictReader(path.open()))
    for row in rows:
        row["best"] = row["best"] == "True"
    return rows


def test_the_committed_measurement_gives_the_shipped_configs_teachers() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    config = tomllib.loads((ROOT / "training/configs/core-v1-generalist.toml").read_text())
    rows = _rows(ROOT / "results/learned/teachers.csv")
    assert _module().imitate_table(rows, 0.001) == config["imitate"]


def test_a_small_run_writes_every_task_and_agent(tmp_path: Path, capsys) -> None:
    module = _module()
    out = tmp_path / "teachers.csv"
    tasks = ["heavy-prompt-v1", "paper-model2-v1"]
    status = module.main(
        ["--tasks", *tasks, "--agents", "mcsf", "sorted-f", "--count", "2", "--out", str(out)]
    )
    assert status == 0
    rows = _rows(out)
    assert [(row["task"], row["agent"]) for row in rows] == [
        (task, agent) for task in tasks for agent in ("mcsf", "sorted-f")
    ]
    for task in tasks:
        assert sum(bool(row["best"]) for row in rows if row["task"] == task) == 1
        assert min(float(row["ratio_to_best"]) for row in rows if row["task"] == task) == 1.0
    assert '"*" = ' in capsys.readouterr().out


def test_too_few_validation_seeds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as error:
        _module().main(["--tasks", "heavy-prompt-v1", "--first", "29", "--count", "5", "--out",
                        str(tmp_path / "x.csv")])  # fmt: skip
    assert error.value.code == 2
