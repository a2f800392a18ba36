"""A Markdown report that puts the tables and figures of saved results together."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.io import read_json


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _interval(entry: dict[str, Any], metric: str) -> str:
    low, high = entry.get(f"{metric}_low"), entry.get(f"{metric}_high")
    text = _number(entry.get(metric))
    if low is None or high is None:
        return text
    return f"{text} [{_number(low)}, {_number(high)}]"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def _compare_section(document: dict[str, Any]) -> str:
    config = document["config"]
    baseline = config["baseline"]
    ratio = f"ratio_to_{baseline}"
    rows = [
        [
            entry["agent"],
            _number(entry.get("rate")),
            str(entry["seeds"]),
            _interval(entry, "mean_latency"),
            _number(entry["p99_latency"]),
            _number(entry["ttft_mean"]),
            _number(entry["throughput_tokens_per_s"]),
            _number(entry["evictions"]),
            _interval(entry, ratio),
        ]
        for entry in document["summary"]
    ]
    header = [
        "agent", "rate (req/s)", "seeds", "mean latency [95% CI]", "p99 latency", "mean TTFT",
        "tokens/s", "evictions", f"mean-latency ratio to {baseline} [95% CI]",
    ]  # fmt: skip
    return (
        f"Workload `{config['workload']}`, agents {', '.join(f'`{a}`' for a in config['agents'])}, "
        f"{len(config['seeds'])} seeds.\n\n" + markdown_table(header, rows)
    )


def _ratio_section(document: dict[str, Any]) -> str:
    rows = [
        [
            entry["workload"],
            entry["agent"],
            str(entry["instances"]),
            str(entry["proven_optimal"]),
            _number(entry["average"]),
            _number(entry["best"]),
            _number(entry["worst"]),
            _number(entry["worst_upper"]),
            str(entry["equals_optimum"]),
            _number(entry["median_solve_time_s"]),
        ]
        for entry in document["summary"]
    ]
    header = [
        "workload", "agent", "instances", "proven optimal", "average ratio", "best", "worst",
        "worst (vs bound)", "= optimum", "median solve (s)",
    ]  # fmt: skip
    paper = document.get("paper", {})
    paper_rows = [
        [name, _number(values["average"]), _number(values["best"]), _number(values["worst"]),
         str(values["optimal"])]
        for name, values in paper.items()
    ]  # fmt: skip
    text = markdown_table(header, rows)
    if paper_rows:
        text += "\n\nThe paper's figures (MC-SF / OPT):\n\n" + markdown_table(
            ["arrival model", "average", "best", "worst", "= optimum"], paper_rows
        )
    return text


def write_report(results: Sequence[Path], out: Path) -> Path:
    """Write a Markdown report of the given results folders, drawing the figures they allow.

    Raises:
        ValueError: if a folder has no ``summary.json`` or one of an unknown command.
    """
    from evaluation.plots import plot_results

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sections = ["# mcsf-gym evaluation report"]
    for folder in results:
        folder = Path(folder)
        document = read_json(folder / "summary.json")
        command = document.get("command")
        figures: list[str] = []
        if command == "compare":
            body = _compare_section(document)
            if document["config"].get("rates"):
                figures.append("rate")
            if (folder / "latencies.npz").is_file():
                figures.append("cdf")
        elif command == "ratio":
            body = _ratio_section(document)
            figures.append("ratios")
        else:
            raise ValueError(f"{folder / 'summary.json'}: unknown command {command!r}")
        sections.append(f"## {command}: `{folder}`\n\n{body}")
        for kind in figures:
            path = plot_results(kind, folder, out.parent / f"{folder.name}-{kind}.png")
            sections.append(f"![{kind}]({os.path.relpath(path, out.parent)})")
        sections.append(f"mcsf-gym version {document.get('mcsf_gym_version', '?')}.")
    out.write_text("\n\n".join(sections) + "\n")
    return out
