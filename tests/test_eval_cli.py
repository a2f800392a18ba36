"""``mcsf-eval`` end to end: every subcommand on small inputs through ``evaluation.cli.main``."""

from __future__ import annotations

import argparse
import enum
import json
import math
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.cli import build_parser, main

SMALL = ["--workload", "paper-model2:n=30", "--seeds", "3", "--no-progress"]


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_png(path: Path) -> None:
    from matplotlib.image import imread

    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert float(image[..., :3].std()) > 0.01  # something was drawn


# ------------------------------------------------------------------------------------ help
def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_subcommand_is_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parsers = subcommand_parsers()
    assert set(parsers) == {"compare", "ratio", "plot", "report", "bench"}
    for name, parser in parsers.items():
        assert parser.description, name
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        for action in parser._actions:
            for option in action.option_strings:
                assert option in text, (name, option)
    # the known agent and workload names are listed where they are asked for
    compare_help = parsers["compare"].format_help()
    for known in ("mcsf", "vllm-fcfs", "alpha-beta", "ppo", "lmsys", "paper-model2", "trace"):
        assert known in compare_help


# --------------------------------------------------------------------------------- compare
def test_compare_writes_parsable_results_and_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    status, text, _ = run(
        capsys, "compare", "--agents", "mcsf", "vllm-fcfs", *SMALL, "--rates", "0.05", "0.1",
        "--workers", "2", "--out", out,
    )  # fmt: skip
    assert status == 0
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 2 * 3 * 2  # rates x seeds x agents
    assert set(rows["agent"]) == {"mcsf", "vllm-fcfs"}
    assert sorted(set(rows["rate"])) == [0.05, 0.1]
    metrics = ("mean_latency", "p50_latency", "p99_latency", "ttft_mean",
               "throughput_tokens_per_s", "evictions", "peak_memory", "mean_memory")  # fmt: skip
    for column in metrics:
        assert column in rows and rows[column].notna().all(), column
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4
    document = json.loads((out / "summary.json").read_text())
    assert document["command"] == "compare"
    assert document["mcsf_gym_version"]
    assert document["config"]["seeds"] == [0, 1, 2]
    assert document["config"]["rates"] == [0.05, 0.1]
    assert document["repeat"].endswith("summary.json")
    latencies = np.load(out / "latencies.npz")
    assert len(latencies.files) == 12
    # the paired ratio is the mean over seeds of the per-scenario ratios
    for rate in (0.05, 0.1):
        at = rows[rows["rate"] == rate].set_index(["seed", "agent"])["mean_latency"]
        expected = np.mean([at[(s, "vllm-fcfs")] / at[(s, "mcsf")] for s in range(3)])
        entry = summary[(summary["rate"] == rate) & (summary["agent"] == "vllm-fcfs")].iloc[0]
        assert entry["ratio_to_mcsf"] == pytest.approx(expected)
        assert entry["ratio_to_mcsf_low"] <= expected <= entry["ratio_to_mcsf_high"]
        own = summary[(summary["rate"] == rate) & (summary["agent"] == "mcsf")].iloc[0]
        assert own["ratio_to_mcsf"] == pytest.approx(1.0)
    # the printed table names the agents, the units and the interval
    assert "vllm-fcfs" in text and "/ mcsf" in text and "requests/round" in text
    assert "95% confidence interval" in text and "±" in text


def test_compare_config_repeats_the_run_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["--agents", "mcsf", "alpha-beta:alpha=0.1,beta=0.1", *SMALL, "--seed", "7"]
    assert run(capsys, "compare", *args, "--workers", "2", "--out", first)[0] == 0
    status, _, _ = run(
        capsys, "compare", "--config", first / "summary.json", "--workers", "1",
        "--no-progress", "--out", second,
    )  # fmt: skip
    assert status == 0
    a = pd.read_csv(first / "rows.csv").drop(columns="wall_time_s")
    b = pd.read_csv(second / "rows.csv").drop(columns="wall_time_s")
    pd.testing.assert_frame_equal(a, b)
    saved = [json.loads((folder / "summary.json").read_text()) for folder in (first, second)]
    assert saved[0]["config"] == saved[1]["config"]
    assert saved[0]["config"]["seeds"] == [7, 8, 9]
    assert saved[0]["summary"] == saved[1]["summary"]
    with np.load(first / "latencies.npz") as x, np.load(second / "latencies.npz") as y:
        assert x.files == y.files
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key])
    # options on the command line replace the file's values
    third = tmp_path / "third"
    status, _, _ = run(
        capsys, "compare", "--config", first / "summary.json", "--seeds", "2", "--workers", "1",
        "--no-progress", "--out", third,
    )  # fmt: skip
    assert status == 0
    config = json.loads((third / "summary.json").read_text())["config"]
    assert config["seeds"] == [7, 8] and config["agents"] == saved[0]["config"]["agents"]


def test_compare_reads_a_toml_config_and_writes_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    config = tmp_path / "run.toml"
    config.write_text(
        'agents = ["mcsf", "sf-no-lookahead"]\nworkload = "paper-model1:n=12"\nseeds = [3, 4]\n'
    )
    out = tmp_path / "toml"
    status, _, _ = run(
        capsys, "compare", "--config", config, "--format", "parquet", "--workers", "1",
        "--no-progress", "--out", out,
    )  # fmt: skip
    assert status == 0
    rows = pd.read_parquet(out / "rows.parquet")
    assert len(rows) == 4 and sorted(set(rows["seed"])) == [3, 4]
    assert json.loads((out / "summary.json").read_text())["rows_file"] == "rows.parquet"


def write_vidur_trace(path: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(0)
    arrival = np.cumsum(rng.exponential(0.05, n))
    lines = ["arrived_at,num_prefill_tokens,num_decode_tokens"]
    lines += [
        f"{a:.4f},{p},{o}"
        for a, p, o in zip(arrival, rng.integers(5, 200, n), rng.integers(1, 300, n), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_on_a_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_vidur_trace(tmp_path / "trace.csv")
    out = tmp_path / "trace-run"
    status, text, _ = run(
        capsys, "compare", "--agents", "mcsf", "vllm-fcfs", "--workload",
        f"trace:path={trace},memory=600", "--seeds", "2", "--workers", "1", "--no-progress",
        "--out", out,
    )  # fmt: skip
    assert status == 0, text
    rows = pd.read_csv(out / "rows.csv")
    assert set(rows["n"]) == {40} and set(rows["memory"]) == {600}
    assert "in s" in text  # linear time


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "compare", "--agents", "mcsf", "--workload", "paper-model1:n=8", "--seeds", "2",
        "--workers", "1", "--out", tmp_path / "p",
    )  # fmt: skip
    assert status == 0
    assert "100%" in err and "2/2" in err
    assert "100%" not in out


# ------------------------------------------------------------------------ errors, one line
def trace_with_bad_header(tmp_path: Path) -> str:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    return f"trace:path={path}"


BAD_INPUTS = {
    "unknown agent": (["compare", "--agents", "nope", *SMALL], "unknown agent 'nope'"),
    "unknown workload": (
        ["compare", "--workload", "nope", "--seeds", "1"],
        "unknown workload 'nope'",
    ),
    "bad workload parameter": (
        ["compare", "--workload", "paper-model2:n=-3", "--seeds", "1"],
        "n",
    ),
    "missing trace": (
        ["compare", "--workload", "trace:path=/nonexistent/trace.csv", "--seeds", "1"],
        "/nonexistent/trace.csv",
    ),
    "rates on a workload without a rate": (
        ["compare", "--workload", "paper-model1:n=8", "--rates", "1", "--seeds", "1"],
        "no 'rate' parameter",
    ),
    "optimum in linear time": (
        ["compare", "--workload", "lmsys:n=10", "--optimum", "--seeds", "1"],
        "unit time model",
    ),
    "time limit without optimum": (
        ["compare", "--time-limit", "3", "--seeds", "1"],
        "add --optimum",
    ),
    "missing config": (["compare", "--config", "/nonexistent/summary.json"], "no such"),
    "plot without results": (["plot", "rate"], "needs --results"),
    "report of a non-results folder": (["report", "/nonexistent/folder"], "no such results"),
    "unknown memory preset": (["compare", "--memory", "big", "--seeds", "1"], "'big'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_user_errors_print_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, needle = BAD_INPUTS[case]
    target = tmp_path / ("report.md" if argv[0] == "report" else "x")
    status, out, err = run(capsys, *argv, "--out", target)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mcsf-eval: error: ")
    assert needle in lines[0]
    assert "Traceback" not in err and out == ""


def test_malformed_trace_error_says_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compare", "--workload", trace_with_bad_header(tmp_path), "--seeds", "1"]
    status, _, err = run(capsys, *argv, "--out", tmp_path / "x")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("mcsf-eval: error: ") and "arrived_at" in err


def test_missing_model_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-model.zip"
    status, _, err = run(
        capsys, "compare", "--agents", f"ppo:{missing}", *SMALL, "--out", tmp_path / "x"
    )
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("mcsf-eval: error: ") and "no-such-model" in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--seeds", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


# --------------------------------------------------------------------- plots and report
@pytest.fixture(scope="module")
def compare_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results") / "sweep"
    status = main(
        ["compare", "--agents", "mcsf", "mc-benchmark", *SMALL, "--rates", "0.05", "0.1",
         "--workers", "1", "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    return out


@pytest.mark.parametrize("kind", ["rate", "cdf", "timeline"])
def test_plot_from_compare_results(
    kind: str, compare_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"{kind}.png"
    status, text, _ = run(capsys, "plot", kind, "--results", compare_results, "--out", out)
    assert status == 0 and str(out) in text
    assert_png(out)


def test_plot_timeline_of_a_chosen_run_and_of_a_workload(
    compare_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = tmp_path / "chosen.png"
    status, _, _ = run(
        capsys, "plot", "timeline", "--results", compare_results, "--agent", "mc-benchmark",
        "--seed", "2", "--rate", "0.05", "--out", chosen,
    )  # fmt: skip
    assert status == 0
    assert_png(chosen)
    free = tmp_path / "free.png"
    status, _, _ = run(capsys, "plot", "timeline", "--workload", "paper-model1:n=10", "--out", free)
    assert status == 0
    assert_png(free)
    status, _, err = run(
        capsys, "plot", "timeline", "--results", compare_results, "--seed", "99", "--out", free
    )
    assert status == 2 and "seed 99" in err


def test_plot_all_and_report(
    compare_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run(capsys, "plot", "all", "--results", compare_results, "--out", tmp_path)
    assert status == 0
    for kind in ("rate", "cdf", "timeline"):
        assert_png(tmp_path / f"{kind}.png")
    report = tmp_path / "report" / "report.md"
    status, _, _ = run(capsys, "report", compare_results, "--out", report)
    assert status == 0
    markdown = report.read_text()
    assert "| agent |" in markdown and "mc-benchmark" in markdown
    assert "mcsf-eval compare --config" in markdown
    images = [line.split("(")[1].rstrip(")") for line in markdown.splitlines() if "![" in line]
    assert len(images) == 3
    for image in images:
        assert_png(report.parent / image)


def test_plot_ratios_needs_ratios(
    compare_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "plot", "ratios", "--results", compare_results)
    assert status == 2 and "ratio" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------- ratio and --optimum (stand-in solver)
class FakeStatus(enum.Enum):
    FEASIBLE = 2


@dataclass
class FakeSolution:
    value: float
    bound: float
    status: FakeStatus
    proven_optimal: bool
    start: np.ndarray
    gap: float
    lp_bound: float
    mcsf_value: float
    solver: str = "stand-in"


def fake_hindsight_optimum(instance, memory, time_limit=60.0, threads=1, solver="auto"):  # type: ignore[no-untyped-def]
    """Not an optimum: MC-SF's schedule, with the bound sum(o_i) (latency >= o_i in unit time)."""
    from agents import run_agent

    result = run_agent(instance, "mcsf", memory=memory, time_model="unit")
    bound = float(np.sum(instance.output))
    value = result.total_latency
    gap = 1 - bound / value
    return FakeSolution(value, bound, FakeStatus.FEASIBLE, False, result.start, gap, bound, value)


@pytest.fixture
def fake_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("evaluation.hindsight")
    module.hindsight_optimum = fake_hindsight_optimum  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "evaluation.hindsight", module)


@pytest.mark.usefixtures("fake_solver")
def test_ratio_end_to_end_with_a_stand_in_solver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ratio"
    status, text, _ = run(
        capsys, "ratio", "--workloads", "paper-model1:n=10", "paper-model2:n=10", "--agents",
        "mcsf", "vllm-fcfs", "--instances", "3", "--time-limit", "1", "--workers", "1",
        "--no-progress", "--out", out,
    )  # fmt: skip
    assert status == 0
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 2 * 3 * 2
    assert (rows["ratio"] == rows["value"] / rows["optimum"]).all()
    assert (rows["ratio_upper"] == rows["value"] / rows["bound"]).all()
    assert rows["replay_exact"].all()  # the stand-in's schedule replays exactly
    assert set(rows["optimum_status"]) == {"feasible"} and not rows["proven_optimal"].any()
    mcsf = rows[rows["agent"] == "mcsf"]
    assert (mcsf["ratio"] == 1.0).all()
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["instances"]) == {3} and set(summary["proven_optimal"]) == {0}
    assert "paper-model2:n=10" in text and "worst_upper" in text
    figure = tmp_path / "ratios.png"
    assert run(capsys, "plot", "ratios", "--results", out, "--out", figure)[0] == 0
    assert_png(figure)
    report = tmp_path / "report.md"
    assert run(capsys, "report", out, "--out", report)[0] == 0
    assert "The paper's figures" in report.read_text()
    again = tmp_path / "again"
    status, _, _ = run(
        capsys, "ratio", "--config", out / "summary.json", "--workers", "1", "--no-progress",
        "--out", again,
    )  # fmt: skip
    assert status == 0
    pd.testing.assert_frame_equal(
        rows.drop(columns="solve_time_s"),
        pd.read_csv(again / "rows.csv").drop(columns="solve_time_s"),
    )


@pytest.mark.usefixtures("fake_solver")
def test_compare_with_optimum_reports_ratios_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "opt"
    status, text, _ = run(
        capsys, "compare", "--agents", "mcsf", "vllm-fcfs", *SMALL, "--optimum", "--time-limit",
        "2", "--workers", "1", "--out", out,
    )  # fmt: skip
    assert status == 0
    rows = pd.read_csv(out / "rows.csv")
    assert np.allclose(rows["ratio_to_optimum"], rows["total_latency"] / rows["optimum"])
    assert np.allclose(rows["ratio_to_bound"], rows["total_latency"] / rows["bound"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["optimum_time_limit"] == 2.0
    assert "/ OPT" in text and "/ bound" in text and "proven" in text
    figure = tmp_path / "ratios.png"
    assert run(capsys, "plot", "ratios", "--results", out, "--out", figure)[0] == 0
    assert_png(figure)
    mcsf = next(e for e in summary["summary"] if e["agent"] == "mcsf")
    assert math.isclose(mcsf["ratio_to_optimum"], 1.0)


def test_ratio_rejects_linear_time_workloads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_solver: None
) -> None:
    status, _, err = run(
        capsys, "ratio", "--workloads", "lmsys:n=10", "--instances", "1", "--out", tmp_path
    )
    assert status == 2 and "unit time model" in err


class NeverAdmits:
    """A scheduler that never admits anything (the engine stops it as a livelock)."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def schedule(self, view: object) -> list[int]:
        return []


def test_an_agent_failing_at_run_time_is_one_line_naming_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents import AGENTS

    monkeypatch.setitem(AGENTS._entries, "never-admits", NeverAdmits)
    status, _, err = run(
        capsys, "compare", "--agents", "never-admits", "--workload", "paper-model1:n=5",
        "--seeds", "1", "--seed", "4", "--workers", "1", "--no-progress", "--out", tmp_path,
    )  # fmt: skip
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("mcsf-eval: error: agent 'never-admits' on workload 'paper-model1:n=5'")
    assert "(seed 4)" in err
