"""PNG figures: latency against rate, latency CDFs, ratio distributions and one run's timeline.

The timeline shows memory use, queue lengths and which request ran when.

matplotlib is imported inside each function (the ``plot`` extra), with the non-interactive
Agg backend, so nothing here needs a screen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.core.result import SimulationResult


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install 'mcsf-gym[plot]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)
    return path


def time_unit(time_model: str) -> str:
    """The unit of times under a time model (rounds or seconds)."""
    return "rounds" if time_model == "unit" else "s"


def plot_latency_vs_rate(
    summary: Sequence[Mapping[str, Any]], path: Path, *, unit: str = "s"
) -> Path:
    """Mean latency against arrival rate, one line per agent, with confidence bands.

    Args:
        summary: rows of a comparison summary with ``agent``, ``rate``, ``mean_latency`` and
            optionally ``mean_latency_low`` / ``mean_latency_high``.
        path: the PNG to write.
        unit: unit of latency for the axis label.

    Raises:
        ValueError: if the summary has no arrival rates.
    """
    lines: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in summary:
        if row.get("rate") is None:
            raise ValueError("the summary has no 'rate' column: run compare with --rates")
        lines[str(row["agent"])].append(row)
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for agent, rows in sorted(lines.items()):
        rows = sorted(rows, key=lambda row: float(row["rate"]))
        rates = [float(row["rate"]) for row in rows]
        means = [float(row["mean_latency"]) for row in rows]
        axis.plot(rates, means, marker="o", label=agent)
        low = [row.get("mean_latency_low") for row in rows]
        high = [row.get("mean_latency_high") for row in rows]
        if all(value is not None and np.isfinite(value) for value in (*low, *high)):
            axis.fill_between(rates, low, high, alpha=0.2)
    axis.set_xlabel("arrival rate (requests/s)")
    axis.set_ylabel(f"mean end-to-end latency ({unit})")
    axis.set_title("Mean latency against arrival rate")
    axis.grid(alpha=0.3)
    axis.legend()
    return _save(figure, path)


def plot_latency_cdf(latencies: Mapping[str, np.ndarray], path: Path, *, unit: str = "s") -> Path:
    """Empirical CDF of per-request latency, one curve per label (log-scaled axis)."""
    if not latencies:
        raise ValueError("plot_latency_cdf needs at least one latency array")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for label, values in latencies.items():
        data = np.sort(np.asarray(values, dtype=np.float64))
        axis.step(data, np.arange(1, data.size + 1) / data.size, where="post", label=label)
    axis.set_xscale("log")
    axis.set_xlabel(f"end-to-end latency ({unit}, log scale)")
    axis.set_ylabel("fraction of requests")
    axis.set_title("Latency CDF")
    axis.grid(alpha=0.3)
    axis.legend()
    return _save(figure, path)


def plot_ratio_distribution(
    ratios: Mapping[str, Sequence[float]], path: Path, *, reference: str = "optimum"
) -> Path:
    """Histogram of competitive ratios per label (e.g. MC-SF / OPT per arrival model)."""
    if not ratios:
        raise ValueError("plot_ratio_distribution needs at least one ratio list")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    values = [np.asarray(list(v), dtype=np.float64) for v in ratios.values()]
    top = max(float(v.max()) for v in values if v.size) if any(v.size for v in values) else 1.0
    bins = np.linspace(1.0, max(top, 1.0) + 1e-9, 30)
    for label, data in zip(ratios, values, strict=True):
        axis.hist(data, bins=bins, alpha=0.55, label=f"{label} (n={data.size})")
    axis.set_xlabel(f"ratio of total latency to the {reference}")
    axis.set_ylabel("instances")
    axis.set_title(f"Distribution of ratios to the {reference}")
    axis.grid(alpha=0.3)
    axis.legend()
    return _save(figure, path)


def plot_timeline(result: SimulationResult, path: Path, *, max_requests: int = 300) -> Path:
    """One run over time: memory use against ``M``, queue lengths, and a Gantt chart.

    Args:
        result: a result simulated with ``record=True``.
        path: the PNG to write.
        max_requests: draw the Gantt chart for at most this many requests (the first ones).

    Raises:
        ValueError: if the result has no per-round trace.
    """
    trace = result.trace
    if trace is None:
        raise ValueError("plot_timeline needs a result simulated with record=True")
    unit = time_unit(result.time_model)
    plt = _pyplot()
    figure, (memory_axis, queue_axis, gantt_axis) = plt.subplots(
        3, 1, figsize=(8, 8), sharex=True, gridspec_kw={"height_ratios": [2, 1, 3]}
    )
    ends = trace.start + trace.duration
    memory_axis.step(ends, trace.memory, where="post", label="KV tokens held")
    memory_axis.axhline(result.memory, color="red", linestyle="--", label=f"M = {result.memory}")
    memory_axis.set_ylabel("KV cache (tokens)")
    memory_axis.legend(loc="upper right")
    memory_axis.set_title("Memory, queue and schedule over time")
    queue_axis.step(trace.start, trace.waiting, where="post", label="waiting")
    queue_axis.step(trace.start, trace.running, where="post", label="running")
    queue_axis.set_ylabel("requests")
    queue_axis.legend(loc="upper right")
    instance = result.instance
    shown = min(instance.n, max_requests)
    index = np.arange(shown)
    gantt_axis.hlines(index, instance.arrival[:shown], result.start[:shown], color="0.75", lw=1)
    gantt_axis.hlines(index, result.start[:shown], result.finish[:shown], color="tab:blue", lw=2)
    gantt_axis.set_ylabel("request (arrival order)")
    gantt_axis.set_xlabel(f"time ({unit}); grey: waiting, blue: running (last run)")
    gantt_axis.invert_yaxis()
    for axis in (memory_axis, queue_axis, gantt_axis):
        axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_results(kind: str, results: Path, out: Path) -> Path:
    """Draw figure ``kind`` (``"rate"``, ``"cdf"`` or ``"ratios"``) from a results folder.

    Raises:
        ValueError: if the folder lacks the files the figure needs.
    """
    from evaluation.io import read_json, read_rows

    results = Path(results)
    if kind == "rate":
        summary = read_json(results / "summary.json")["summary"]
        unit = time_unit(summary[0].get("time_model", "linear")) if summary else "s"
        return plot_latency_vs_rate(summary, out, unit=unit)
    if kind == "cdf":
        latency_file = results / "latencies.npz"
        if not latency_file.is_file():
            raise ValueError(f"no {latency_file}: run 'mcsf-eval compare --out {results}' first")
        stored = np.load(latency_file)
        first_seed = min(int(key.rsplit("seed=", 1)[1]) for key in stored.files)
        curves = {
            key.rsplit("|seed=", 1)[0].replace("|rate=None", ""): stored[key]
            for key in stored.files
            if key.endswith(f"|seed={first_seed}")
        }
        return plot_latency_cdf(curves, out)
    if kind == "ratios":
        groups: dict[str, list[float]] = {}
        for row in read_rows(results / "rows.csv"):
            groups.setdefault(f"{row['agent']} on {row['workload']}", []).append(row["ratio"])
        return plot_ratio_distribution(groups, out)
    raise ValueError(f"unknown figure {kind!r}; known figures: rate, cdf, ratios")
