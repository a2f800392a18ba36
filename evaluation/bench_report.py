"""Scorecard outputs: CSV, JSON, a Markdown table and one figure, byte-identical on a rerun.

Nothing time-dependent (dates, wall times, host names) is written, so deterministic agents
give identical files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.bench import BASELINE, Scorecard
from evaluation.io import write_rows
from evaluation.outputs import atomic_write

#: File names in a bench results folder.
FILES = {
    "csv": "scorecard.csv",
    "scenarios": "scenarios.csv",
    "json": "scorecard.json",
    "markdown": "scorecard.md",
    "figure": "scorecard.png",
    "config": "config.json",
}


def _number(value: float, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:.0f}"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def write_json(payload: dict[str, Any], path: Path) -> Path:
    """Write ``payload`` as indented JSON (non-finite numbers as ``null``)."""
    with atomic_write(path) as handle:
        handle.write(json.dumps(_clean(payload), indent=1, allow_nan=False) + "\n")
    return path


def _rank(value: float, card: Scorecard) -> tuple[bool, float, str]:
    """Sort key: finite values first, ascending, ties by agent name."""
    finite = math.isfinite(value)
    return (not finite, value if finite else 0.0, card.agent)


def markdown_table(cards: Sequence[Scorecard]) -> str:
    """The scorecards as Markdown: an aggregate table, then one table per task."""
    lines = [
        "| agent | tasks | geomean TEL / best known | geomean TEL / bound | geomean TEL / MC-SF |",
        "|---|---:|---:|---:|---:|",
    ]
    # agents scored on more tasks first: aggregates over different task sets do not compare
    ranked = sorted(
        cards,
        key=lambda card: (
            -card.aggregate["tasks"],
            *_rank(card.aggregate["geomean_ratio_to_best"], card),
        ),
    )
    for card in ranked:
        a = card.aggregate
        baseline = a[f"geomean_ratio_to_{BASELINE}"]
        lines.append(
            f"| {card.agent} | {a['tasks']} | {_number(a['geomean_ratio_to_best'])} | "
            f"{_number(a['geomean_ratio_to_bound'])} | {_number(baseline)} |"
        )
    tasks = [row["task"] for row in cards[0].tasks] if cards else []
    for task in tasks:
        unit = "rounds" if cards[0][task]["time_model"] == "unit" else "s"
        lines += [
            "",
            f"### {task}",
            "",
            f"| agent | mean latency ({unit}) | p50 | p99 | TTFT | tokens/s | evictions | "
            "TEL / MC-SF [95% CI] | [TEL / best, TEL / bound] |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for card in sorted(cards, key=lambda card: _rank(card[task]["ratio_to_best"], card)):
            row = card[task]
            key = f"ratio_to_{BASELINE}"
            lines.append(
                f"| {card.agent} | {_number(row['mean_latency'])} | {_number(row['p50_latency'])} "
                f"| {_number(row['p99_latency'])} | {_number(row['ttft_mean'])} | "
                f"{_number(row['throughput_tokens_per_s'], 1)} | {_number(row['evictions'], 1)} "
                f"| {_number(row[key])} [{_number(row[f'{key}_low'])}, "
                f"{_number(row[f'{key}_high'])}] | [{_number(row['ratio_to_best'])}, "
                f"{_number(row['ratio_to_bound'])}] |"
            )
    return "\n".join(lines) + "\n"


def figure(cards: Sequence[Scorecard], path: Path) -> Path:
    """One figure: mean ``TEL / best known`` per task and agent (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [row["task"] for row in cards[0].tasks]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(tasks) + 3), 4.5))
    width = 0.8 / max(1, len(cards))
    for k, card in enumerate(sorted(cards, key=lambda card: card.agent)):
        values = [card[task]["ratio_to_best"] for task in tasks]
        positions = [i - 0.4 + width * (k + 0.5) for i in range(len(tasks))]
        ax.bar(positions, [v - 1 for v in values], width, bottom=1, label=card.agent)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(tasks)), tasks, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("mean TEL / best known (log)")
    ax.set_title(f"suite {cards[0].suite}: total latency over the best known schedule")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def write_outputs(
    cards: Sequence[Scorecard], config: dict[str, Any], out: Path, plot: bool = True
) -> dict[str, Path]:
    """Write every output file of a bench run into ``out``; returns them by kind."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": write_rows([row for card in cards for row in card.tasks], out / FILES["csv"]),
        "scenarios": write_rows(
            [row for card in cards for row in card.scenarios], out / FILES["scenarios"]
        ),
        "json": write_json(
            {"config": config, "scorecards": [card.to_dict() for card in cards]},
            out / FILES["json"],
        ),
        "config": write_json(config, out / FILES["config"]),
    }
    markdown = out / FILES["markdown"]
    with atomic_write(markdown) as handle:
        handle.write(markdown_table(cards))
    paths["markdown"] = markdown
    if plot:
        paths["figure"] = figure(cards, out / FILES["figure"])
    return paths
