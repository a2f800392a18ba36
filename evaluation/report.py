"""A Markdown report that puts the tables and figures of saved results together."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.io import SUMMARY_JSON, format_number, read_json

FIGURE_CAPTIONS = {
    "rate": "Mean and p99 latency against arrival rate (bands: confidence intervals over seeds).",
    "cdf": "Per-request latency CDF at the highest rate, all seeds pooled.",
    "ratios": "Distribution of ratios of total latency to the hindsight optimum.",
    "timeline": "One run of the baseline (first seed, highest rate): KV-cache use, queue "
    "length and the schedule of the first requests.",
}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format_number(value)


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


def _shown(key: str, value: Any) -> str:
    """A configuration value for the report; a run of consecutive seeds as ``first..last``."""
    if key == "seeds" and len(value) > 3 and value == list(range(value[0], value[-1] + 1)):
        return f"{value[0]}..{value[-1]} ({len(value)} seeds)"
    return str(value)


def _config_line(config: dict[str, Any]) -> str:
    parts = [
        f"`{key}` = `{_shown(key, value)}`"
        for key, value in config.items()
        if value not in (None, [])
    ]
    return "Configuration: " + ", ".join(parts) + "."


def _compare_section(document: dict[str, Any]) -> str:
    config = document["config"]
    baseline = config["baseline"]
    summary = document["summary"]
    unit = "rounds" if summary and summary[0]["time_model"] == "unit" else "s"
    optimum = bool(summary) and "ratio_to_optimum" in summary[0]
    level = f"{round(100 * config.get('confidence', 0.95))}% CI"
    throughput = "tokens/round" if unit == "rounds" else "tokens/s"
    header = [
        "agent", "rate", "seeds", f"mean latency ({unit}) [{level}]", f"p50 ({unit})",
        f"p99 ({unit})", f"mean TTFT ({unit})", throughput, "evictions", "mean KV (tokens)",
        "peak KV (tokens)", f"mean-latency ratio to {baseline} [{level}]",
    ]  # fmt: skip
    if optimum:
        header += [f"ratio to optimum [{level}]", "ratio to bound", "proven optimal"]
    rows = []
    for entry in summary:
        row = [
            entry["agent"],
            _number(entry.get("rate")),
            str(entry["seeds"]),
            _interval(entry, "mean_latency"),
            _number(entry["p50_latency"]),
            _number(entry["p99_latency"]),
            _number(entry["ttft_mean"]),
            _number(entry["throughput_tokens_per_s"]),
            _number(entry["evictions"]),
            _number(entry["mean_memory"]),
            _number(entry["peak_memory"]),
            _interval(entry, f"ratio_to_{baseline}"),
        ]
        if optimum:
            row += [
                _interval(entry, "ratio_to_optimum"),
                _number(entry.get("ratio_to_bound")),
                f"{entry.get('proven_optimal')}/{entry['seeds']}",
            ]
        rows.append(row)
    return markdown_table(header, rows)


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
    text = markdown_table(header, rows)
    text += (
        "\n\nRatios divide total latency by the best schedule found (the true competitive ratio "
        "where it is proven optimal); 'worst (vs bound)' divides by the proven lower bound, an "
        "upper bound on the true ratio."
    )
    paper = document.get("paper", {})
    paper_rows = [
        [name, _number(values["average"]), _number(values["best"]), _number(values["worst"]),
         str(values["optimal"])]
        for name, values in paper.items()
    ]  # fmt: skip
    if paper_rows:
        text += "\n\nThe paper's figures (MC-SF / OPT, 200 instances each):\n\n" + markdown_table(
            ["arrival model", "average", "best", "worst", "= optimum"], paper_rows
        )
    return text


def write_report(results: Sequence[Path], out: Path) -> Path:
    """Write a Markdown report of the given results folders, drawing the figures they allow.

    Figures are written beside the report as ``<folder name>-<kind>.png``.

    Raises:
        ValueError: if a folder has no ``summary.json`` or one of an unknown command, or two
            folders share a name (their figures would overwrite each other).
    """
    from evaluation.plots import plot_all

    out = Path(out)
    if out.suffix.lower() != ".md":
        raise ValueError(f"the report is a Markdown file: give a path ending in .md, got {out}")
    names = [Path(folder).resolve().name for folder in results]
    if len(set(names)) != len(names):
        raise ValueError(f"results folders must have distinct names, got {names}")
    out.parent.mkdir(parents=True, exist_ok=True)
    sections = ["# mcsf-gym evaluation report"]
    for folder, name in zip(map(Path, results), names, strict=True):
        document = read_json(folder / SUMMARY_JSON)
        command = document.get("command")
        if command == "compare":
            body = _compare_section(document)
        elif command == "ratio":
            body = _ratio_section(document)
        else:
            raise ValueError(f"{folder / SUMMARY_JSON}: unknown command {command!r}")
        sections.append(f"## {command}: `{folder}`")
        sections.append(_config_line(document["config"]))
        repeat = document.get("repeat") or f"mcsf-eval {command} --config {folder / SUMMARY_JSON}"
        sections.append(f"Repeat with `{repeat}`.\n\n{body}")
        for kind, path in plot_all(folder, out.parent, prefix=f"{name}-").items():
            relative = Path(os.path.relpath(path, out.parent)).as_posix()
            sections.append(f"![{kind}]({relative})\n\n*{FIGURE_CAPTIONS[kind]}*")
        sections.append(
            f"mcsf-gym {document.get('mcsf_gym_version', '?')}, written "
            f"{document.get('created', '?')}."
        )
    out.write_text("\n\n".join(sections) + "\n")
    return out
