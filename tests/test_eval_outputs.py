"""Output paths are checked before any work, files are replaced whole (issue 17)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import evaluation.compare
import evaluation.ratio
import evaluation.runner
from evaluation.cli import main
from evaluation.io import write_json, write_rows
from evaluation.outputs import atomic_write, check_output_dir, check_output_file, folder_lock


def test_output_folder_checks(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_output_dir(file)
    with pytest.raises(ValueError, match=f"is under {file}, which is a file"):
        check_output_dir(file / "sub" / "deeper")
    assert check_output_dir(tmp_path / "new" / "folder").is_dir()
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        check_output_file(tmp_path)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_output_file(file / "report.md")


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "--workload", "paper-model2:n=6", "--seeds", "1", "--no-progress"],
        ["ratio", "--workloads", "paper-model2:n=6", "--instances", "1", "--no-progress"],
        ["report", "RESULTS"],
        ["plot", "rate", "--results", "RESULTS"],
        ["bench", "--agents", "mcsf", "--tasks", "paper-model2-v1", "--no-progress"],
    ],
)
def test_a_bad_out_fails_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the work started before the output path was checked")

    monkeypatch.setattr(evaluation.compare, "compare", no_work)
    monkeypatch.setattr(evaluation.ratio, "ratio_sweep", no_work)
    monkeypatch.setattr(evaluation.runner, "run_jobs", no_work)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    argv = [str(tmp_path) if arg == "RESULTS" else arg for arg in argv]
    status = main([*argv, "--out", str(blocker / "out")])
    assert status == 2
    assert "is a file" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    write_json({"run": 1}, target)
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write('{"run": 2, "half')
        raise RuntimeError("interrupted")
    assert json.loads(target.read_text())["run"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left


def test_two_writers_into_one_folder_never_mix(tmp_path: Path) -> None:
    def write_set(run: int) -> None:
        for _ in range(20):
            with folder_lock(tmp_path):
                write_rows([{"run": run}] * 50, tmp_path / "rows")
                write_json({"run": run}, tmp_path / "summary.json")

    threads = [threading.Thread(target=write_set, args=(run,)) for run in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = json.loads((tmp_path / "summary.json").read_text())["run"]
    rows = (tmp_path / "rows.csv").read_text().split()
    assert rows == ["run", *[str(summary)] * 50]
