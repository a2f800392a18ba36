"""PNG figures: latency against rate, latency CDFs, ratio distributions and one run's timeline.

The drawing functions take plain data (summaries, latency arrays, ratios, a simulation result);
:func:`plot_results`, :func:`plot_all` and :func:`timeline_figure` read a results folder
written by ``mcsf-eval compare`` or ``ratio`` and call them. matplotlib is imported inside the
functions (the ``plot`` extra), with the non-interactive Agg backend, so nothing needs a screen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.core.result import SimulationResult

#: Figures drawn from a results folder.
RESULT_FIGURES = ("rate", "cdf", "ratios")
DPI = 100


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
    if path.suffix.lower() != ".png":
        raise ValueError(f"figures are PNG files: give a path ending in .png, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    _pyplot().close(figure)
    return path


def time_unit(time_model: str) -> str:
    """The unit of times under a time model: ``"rounds"`` for unit time, else seconds."""
    return "rounds" if time_model == "unit" else "s"


def rate_unit(time_model: str) -> str:
    """The unit of arrival rates under a time model."""
    return "requests/round" if time_model == "unit" else "requests/s"


def plot_latency_vs_rate(
    summary: Sequence[Mapping[str, Any]],
    path: Path,
    *,
    time_model: str = "linear",
    confidence: float = 0.95,
) -> Path:
    """Mean and p99 latency against arrival rate, one line per agent, with confidence bands.

    Args:
        summary: rows of a comparison summary with ``agent``, ``rate``, ``mean_latency``,
            ``p99_latency`` and optionally their ``_low`` / ``_high`` interval bounds.
        path: the PNG to write.
        time_model: the time model of the runs (sets the units).
        confidence: the level of the intervals (for the legend).

    Raises:
        ValueError: if the summary has no arrival rates.
    """
    lines: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in summary:
        if row.get("rate") is None:
            raise ValueError(
                "the results have no arrival rates: run 'mcsf-eval compare' with --rates"
            )
        lines[str(row["agent"])].append(row)
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9.6, 3.8))
    for axis, metric, name in zip(
        axes, ("mean_latency", "p99_latency"), ("mean", "p99"), strict=True
    ):
        for agent, rows in sorted(lines.items()):
            rows = sorted(rows, key=lambda row: float(row["rate"]))
            rates = np.array([float(row["rate"]) for row in rows])
            values = np.array([float(row[metric]) for row in rows])
            axis.plot(rates, values, marker="o", label=agent)
            low = np.array([_number(row.get(f"{metric}_low")) for row in rows])
            high = np.array([_number(row.get(f"{metric}_high")) for row in rows])
            if np.isfinite(low).all() and np.isfinite(high).all():
                axis.fill_between(rates, low, high, alpha=0.2)
        axis.set_xlabel(f"arrival rate ({rate_unit(time_model)})")
        axis.set_ylabel(f"{name} end-to-end latency ({time_unit(time_model)})")
        axis.set_title(f"{name.capitalize()} latency against arrival rate")
        axis.grid(alpha=0.3)
    axes[0].legend(title=f"agent (band: {confidence:.0%} CI over seeds)", fontsize="small")
    return _save(figure, path)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def plot_latency_cdf(
    latencies: Mapping[str, np.ndarray], path: Path, *, time_model: str = "linear", title: str = ""
) -> Path:
    """Empirical CDF of per-request latency, one curve per label (log-scaled latency axis).

    Raises:
        ValueError: if there are no latencies.
    """
    if not latencies or not any(np.size(values) for values in latencies.values()):
        raise ValueError("plot_latency_cdf needs at least one non-empty latency array")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    smallest = np.inf
    for label, values in latencies.items():
        data = np.sort(np.asarray(values, dtype=np.float64))
        smallest = min(smallest, float(data[0]))
        axis.step(data, np.arange(1, data.size + 1) / data.size, where="post", label=f"{label}")
    scale = smallest > 0
    if scale:
        axis.set_xscale("log")
    unit = time_unit(time_model)
    axis.set_xlabel(f"end-to-end latency ({unit}{', log scale' if scale else ''})")
    axis.set_ylabel("fraction of requests")
    axis.set_ylim(0, 1.02)
    axis.set_title(title or "Latency CDF")
    axis.grid(alpha=0.3)
    axis.legend(title="agent", fontsize="small")
    return _save(figure, path)


def plot_ratio_distribution(
    ratios: Mapping[str, Sequence[float]], path: Path, *, reference: str = "hindsight optimum"
) -> Path:
    """Empirical distribution (CDF over instances) of ratios of total latency to the optimum.

    One step curve per label; a curve that jumps at 1 is optimal on that share of instances.
    Missing ratios (NaN: no schedule found) are left out and counted in the legend.

    Raises:
        ValueError: if there are no finite ratios.
    """
    arrays = {label: np.asarray(list(v), dtype=np.float64) for label, v in ratios.items()}
    finite = {label: np.sort(data[np.isfinite(data)]) for label, data in arrays.items()}
    if not any(data.size for data in finite.values()):
        raise ValueError("plot_ratio_distribution needs at least one finite ratio")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    for label, data in finite.items():
        if not data.size:
            continue
        missing = arrays[label].size - data.size
        note = f", {missing} unsolved" if missing else ""
        share = np.arange(1, data.size + 1) / data.size
        axis.step(
            np.concatenate([[data[0]], data]),
            np.concatenate([[0.0], share]),
            where="post",
            label=f"{label} (n={data.size}{note}, mean {data.mean():.3f})",
        )
    axis.axvline(1.0, color="black", linewidth=0.8)
    axis.set_xlabel(f"total latency / {reference} (1 = optimal)")
    axis.set_ylabel("fraction of instances with ratio <= x")
    axis.set_ylim(0, 1.02)
    axis.set_title(f"Distribution of ratios to the {reference}")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="x-small", loc="lower right")
    return _save(figure, path)


def _round_steps(
    start: np.ndarray, end: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A step curve of per-round values that drops to 0 in idle gaps between rounds."""
    xs: list[float] = []
    ys: list[float] = []
    previous_end = None
    for begin, finish, value in zip(start, end, values, strict=True):
        if previous_end is not None and begin > previous_end + 1e-12:
            xs += [previous_end, begin]
            ys += [0.0, 0.0]
        xs += [float(begin), float(finish)]
        ys += [float(value), float(value)]
        previous_end = float(finish)
    return np.array(xs), np.array(ys)


def plot_timeline(
    result: SimulationResult, path: Path, *, max_requests: int = 200, title: str = ""
) -> Path:
    """One run over time: KV-cache use against ``M``, queue lengths, and a Gantt chart.

    Args:
        result: a result simulated with ``record=True``.
        path: the PNG to write.
        max_requests: draw the Gantt chart for at most this many requests (the first ones).
        title: the figure's title (default: a generic one).

    Raises:
        ValueError: if the result has no per-round trace or ``max_requests < 1``.
    """
    trace = result.trace
    if trace is None:
        raise ValueError("plot_timeline needs a result simulated with record=True")
    if max_requests < 1:
        raise ValueError(f"max_requests must be >= 1, got {max_requests}")
    unit = time_unit(result.time_model)
    plt = _pyplot()
    figure, (memory_axis, queue_axis, gantt_axis) = plt.subplots(
        3, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 1.5, 3]}
    )
    ends = trace.start + trace.duration
    xs, held = _round_steps(trace.start, ends, trace.memory)
    memory_axis.fill_between(xs, held, step=None, alpha=0.35, label="KV tokens held")
    memory_axis.plot(xs, held, linewidth=0.8)
    memory_axis.axhline(result.memory, color="red", linestyle="--", label=f"M = {result.memory}")
    memory_axis.set_ylabel("KV cache (tokens)")
    memory_axis.set_ylim(0, result.memory * 1.1)
    memory_axis.legend(loc="upper right", fontsize="small")
    memory_axis.set_title(title or "KV-cache use, queue and schedule over time")
    xs, running = _round_steps(trace.start, ends, trace.running)
    queue_axis.plot(xs, running, label="running", linewidth=1)
    queue_axis.step(
        trace.start, trace.waiting, where="post", label="waiting (after admission)", linewidth=1
    )
    queue_axis.set_ylabel("requests")
    queue_axis.legend(loc="upper right", fontsize="small")
    instance = result.instance
    shown = min(instance.n, max_requests)
    index = np.arange(shown)
    evicted = result.evicted[:shown] > 0
    gantt_axis.hlines(index, instance.arrival[:shown], result.start[:shown], color="0.7", lw=1)
    gantt_axis.hlines(index, result.start[:shown], result.finish[:shown], color="tab:blue", lw=2)
    if evicted.any():
        gantt_axis.scatter(
            result.start[:shown][evicted],
            index[evicted],
            marker="|",
            color="tab:red",
            s=30,
            label="restarted after eviction",
        )
        gantt_axis.legend(loc="upper right", fontsize="small")
    gantt_axis.set_ylabel(f"request (first {shown} of {instance.n})")
    gantt_axis.set_xlabel(f"time ({unit}); Gantt: grey waiting, blue running (final run)")
    gantt_axis.invert_yaxis()
    for axis in (memory_axis, queue_axis, gantt_axis):
        axis.grid(alpha=0.3)
    return _save(figure, path)


def _compare_document(results: Path) -> dict[str, Any]:
    from evaluation.io import SUMMARY_JSON, read_json

    document = read_json(Path(results) / SUMMARY_JSON)
    if document.get("command") != "compare":
        raise ValueError(
            f"{Path(results) / SUMMARY_JSON} was written by 'mcsf-eval "
            f"{document.get('command')}'; this figure needs a compare run"
        )
    return document


def _pick_rate(rates: Sequence[float], rate: float | None) -> float | None:
    if not rates:
        if rate is not None:
            raise ValueError("--rate given, but the compare run swept no rates")
        return None
    if rate is None:
        return max(rates)
    if not any(np.isclose(rate, value) for value in rates):
        raise ValueError(f"rate {rate} is not one of the run's rates {list(rates)}")
    return next(value for value in rates if np.isclose(rate, value))


def _plot_cdf(results: Path, out: Path, rate: float | None) -> Path:
    from evaluation.compare import parse_latency_key
    from evaluation.io import LATENCIES_NPZ, read_latencies

    document = _compare_document(results)
    config = document["config"]
    chosen = _pick_rate(config.get("rates") or [], rate)
    pooled: dict[str, list[np.ndarray]] = defaultdict(list)
    for key, values in read_latencies(Path(results) / LATENCIES_NPZ).items():
        agent, key_rate, _ = parse_latency_key(key)
        if chosen is None or (key_rate is not None and np.isclose(key_rate, chosen)):
            pooled[agent].append(values)
    time_model = document["summary"][0]["time_model"] if document["summary"] else "linear"
    where = f" at rate {chosen:g} {rate_unit(time_model)}" if chosen is not None else ""
    return plot_latency_cdf(
        {agent: np.concatenate(arrays) for agent, arrays in sorted(pooled.items())},
        out,
        time_model=time_model,
        title=f"Latency CDF on {config['workload']}{where}, {len(config['seeds'])} seeds pooled",
    )


def _ratio_label(row: Mapping[str, Any], command: str) -> str:
    if command == "ratio":
        return f"{row['agent']} on {row['workload']}"
    rate = row.get("rate")
    return str(row["agent"]) + (f" at rate {rate:g}" if rate is not None else "")


def _ratio_groups(results: Path) -> dict[str, list[float]]:
    """Ratios to the optimum by label, each label noting how many optima were proven.

    Labels are ``agent on workload`` for ratio runs and ``agent [at rate R]`` for compare
    runs with ``--optimum``.
    """
    from evaluation.io import SUMMARY_JSON, read_json, read_rows, rows_file

    command = read_json(Path(results) / SUMMARY_JSON).get("command")
    rows = read_rows(rows_file(results))
    column = "ratio" if command == "ratio" else "ratio_to_optimum"
    if not rows or column not in rows[0]:
        raise ValueError(
            f"{results} holds no ratios to the optimum: run 'mcsf-eval ratio', or "
            "'mcsf-eval compare --optimum' on a unit-time workload"
        )
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_ratio_label(row, command)].append(row)
    return {
        f"{name}, {sum(bool(row['proven_optimal']) for row in members)} proven": [
            _number(row[column]) for row in members
        ]
        for name, members in groups.items()
    }


def plot_results(kind: str, results: Path, out: Path, *, rate: float | None = None) -> Path:
    """Draw figure ``kind`` (``"rate"``, ``"cdf"`` or ``"ratios"``) from a results folder.

    Args:
        kind: which figure.
        results: a folder written by ``mcsf-eval compare`` (rate, cdf, ratios with
            ``--optimum``) or ``mcsf-eval ratio`` (ratios).
        out: the PNG to write.
        rate: for ``cdf``, the rate of the sweep to draw (default: the highest).

    Raises:
        ValueError: for an unknown kind, or a folder that lacks what the figure needs.
    """
    results = Path(results)
    if kind == "rate":
        document = _compare_document(results)
        summary = document["summary"]
        time_model = summary[0]["time_model"] if summary else "linear"
        confidence = document["config"].get("confidence", 0.95)
        return plot_latency_vs_rate(summary, out, time_model=time_model, confidence=confidence)
    if kind == "cdf":
        return _plot_cdf(results, out, rate)
    if kind == "ratios":
        return plot_ratio_distribution(_ratio_groups(results), out)
    raise ValueError(f"unknown figure {kind!r}; known figures: {', '.join(RESULT_FIGURES)}")


def available_figures(results: Path) -> list[str]:
    """The figures a results folder allows (``rate``, ``cdf``, ``ratios``, ``timeline``)."""
    from evaluation.io import SUMMARY_JSON, read_json

    document = read_json(Path(results) / SUMMARY_JSON)
    if document.get("command") == "ratio":
        return ["ratios"]
    config = document.get("config", {})
    kinds = ["rate"] if config.get("rates") else []
    kinds.append("cdf")
    if config.get("optimum_time_limit") is not None:
        kinds.append("ratios")
    kinds.append("timeline")
    return kinds


def plot_all(results: Path, folder: Path, *, prefix: str = "") -> dict[str, Path]:
    """Draw every figure a results folder allows into ``folder`` as ``<prefix><kind>.png``."""
    paths = {}
    for kind in available_figures(results):
        out = Path(folder) / f"{prefix}{kind}.png"
        if kind == "timeline":
            paths[kind] = timeline_figure(out, results=results)
        else:
            paths[kind] = plot_results(kind, results, out)
    return paths


def timeline_figure(
    out: Path,
    *,
    results: Path | None = None,
    workload: str | None = None,
    agent: str | None = None,
    seed: int | None = None,
    rate: float | None = None,
    max_requests: int = 200,
) -> Path:
    """Re-simulate one run with per-round records and draw its timeline.

    With ``results`` (a compare run), the run is the one that produced that run's row for
    ``agent`` (default: the baseline), ``seed`` (default: the first) and ``rate`` (default:
    the highest): the same scenario, overrides and seeding, so the figure shows exactly that
    run. Without it, ``workload`` (default ``paper-model2``) is drawn with ``seed``.

    Raises:
        ValueError: for bad specs, or a seed or rate that the compare run does not have.
    """
    from evaluation.runner import Job, draw_scenario, run_spec

    if results is not None:
        if workload is not None:
            raise ValueError("give either --results or --workload for a timeline, not both")
        config = _compare_document(results)["config"]
        seeds = config["seeds"]
        seed = seeds[0] if seed is None else seed
        if seed not in seeds:
            raise ValueError(f"seed {seed} is not one of the run's seeds {seeds}")
        chosen = _pick_rate(config.get("rates") or [], rate)
        job = Job(
            workload=config["workload"],
            seed=seed,
            agents=(),
            overrides=(("rate", chosen),) if chosen is not None else (),
            memory=config.get("memory"),
            time_model=config.get("time_model"),
            eviction=config.get("eviction"),
        )
        agent = agent or config["baseline"]
    else:
        if rate is not None:
            raise ValueError("--rate selects a rate of a compare run: give --results too")
        job = Job(workload=workload or "paper-model2", seed=seed or 0, agents=())
        agent = agent or "mcsf"
    scenario = draw_scenario(job)
    result = run_spec(job, scenario, agent, record=True)
    where = "".join(f", {key}={value:g}" for key, value in job.overrides)
    title = f"{agent} on {job.workload} (seed {job.seed}{where}, M = {result.memory})"
    return plot_timeline(result, out, max_requests=max_requests, title=title)
