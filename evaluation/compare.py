"""Compare agents on a workload over seeds and arrival rates, with confidence intervals.

Every (rate, seed) pair draws one scenario and runs all agents on it, so the ratio of an
agent's mean latency to the baseline's (MC-SF by default) is a paired comparison; its
confidence interval is taken over seeds. On unit-time workloads the hindsight optimum of each
scenario can be solved too, adding each agent's ratio to the optimum and to the proven bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evaluation.runner import LATENCIES, Job, run_jobs
from evaluation.stats import mean_ci

#: Metrics summarised per agent (mean and confidence interval over seeds).
SUMMARY_METRICS = (
    "mean_latency",
    "p50_latency",
    "p99_latency",
    "ttft_mean",
    "throughput_tokens_per_s",
    "evictions",
    "peak_memory",
    "mean_memory",
)
#: Per-row ratios to the hindsight optimum, present when the optimum was requested.
OPTIMUM_RATIOS = ("ratio_to_optimum", "ratio_to_bound")


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison run; saved as JSON so it can be repeated exactly.

    Args:
        agents: agent specs (the first is not special; ``baseline`` names the reference).
        workload: workload spec.
        seeds: scenario seeds (distinct).
        rates: arrival rates to sweep (each sets the workload's ``rate``; requests per second,
            or per round for unit-time workloads); empty: as the spec says.
        baseline: agent spec that ratios are taken against (run even if not in ``agents``).
        memory: overrides the scenario's ``M`` (tokens or a preset name).
        time_model: overrides the scenario's time model.
        eviction: overrides each agent's default eviction policy.
        confidence: level of the confidence intervals, in (0, 1).
        optimum_time_limit: if set, solve the hindsight optimum of every scenario with this
            time limit in seconds (unit time only) and report ratios to it.
        threads: solver threads for the optimum.
    """

    agents: tuple[str, ...]
    workload: str
    seeds: tuple[int, ...]
    rates: tuple[float, ...] = ()
    baseline: str = "mcsf"
    memory: int | str | None = None
    time_model: str | None = None
    eviction: str | None = None
    confidence: float = 0.95
    optimum_time_limit: float | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if not self.agents:
            raise ValueError("agents must name at least one agent")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {list(self.seeds)}")
        if any(not rate > 0 for rate in self.rates):
            raise ValueError(f"rates must be positive, got {list(self.rates)}")
        if len(set(self.rates)) != len(self.rates):
            raise ValueError(f"rates must be distinct, got {list(self.rates)}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.optimum_time_limit is not None and not self.optimum_time_limit > 0:
            raise ValueError(f"optimum_time_limit must be positive, got {self.optimum_time_limit}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompareConfig:
        """The configuration saved by :meth:`to_dict` (lists become tuples).

        Raises:
            ValueError: for keys that are not fields, naming them.
        """
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown compare configuration keys {unknown}; known keys: {sorted(known)}"
            )
        return cls(
            **{
                key: tuple(value) if isinstance(value, list) else value
                for key, value in data.items()
            }
        )

    @property
    def all_agents(self) -> tuple[str, ...]:
        """The agents that run: ``agents`` and then the baseline if it is not among them."""
        return tuple(dict.fromkeys((*self.agents, self.baseline)))

    def sweeps(self) -> list[tuple[tuple[str, Any], ...]]:
        """The workload overrides of each point of the sweep (one per rate, or none)."""
        return [(("rate", rate),) for rate in self.rates] if self.rates else [()]

    def jobs(self) -> list[Job]:
        """One job per (rate, seed); all agents (and the baseline) run on each."""
        return [
            Job(
                workload=self.workload,
                seed=seed,
                agents=self.all_agents,
                overrides=overrides,
                memory=self.memory,
                time_model=self.time_model,
                eviction=self.eviction,
                optimum_time_limit=self.optimum_time_limit,
                threads=self.threads,
            )
            for overrides in self.sweeps()
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)


def check_config(config: CompareConfig) -> None:
    """Build every workload and agent the run needs, in this process, before any job starts.

    Bad specs then fail at once with the registry's message instead of inside a worker; the
    first scenario is drawn to check that the optimum, if requested, applies to it.

    Raises:
        ValueError: for an unknown or malformed workload, agent, time-model or eviction spec,
            a bad memory, a rate the workload does not take, or an optimum requested on a
            workload that is not in unit time.
        FileNotFoundError: for a missing model or trace file.
    """
    from agents import make_agent
    from mcsf_gym.core.config import resolve_memory
    from mcsf_gym.core.eviction import make_eviction
    from mcsf_gym.core.time_models import make_time_model
    from mcsf_gym.workloads import make_workload

    if config.memory is not None:
        resolve_memory(config.memory)
    if config.time_model is not None:
        make_time_model(config.time_model)
    if config.eviction is not None:
        make_eviction(config.eviction)
    workloads = []
    for overrides in config.sweeps():
        try:
            workloads.append(make_workload(config.workload, **dict(overrides)))
        except ValueError as error:
            if overrides and "unknown parameter 'rate'" in str(error):
                raise ValueError(
                    f"workload {config.workload!r} has no 'rate' parameter, so --rates cannot "
                    "sweep it (poisson, lmsys, heavy-tail, paper-model2 and trace take one)"
                ) from error
            raise
    for spec in config.all_agents:
        make_agent(spec)
    if config.optimum_time_limit is not None:
        scenario = workloads[0].sample(np.random.default_rng(config.seeds[0]))
        time_model = config.time_model or scenario.time_model
        if time_model != "unit":
            raise ValueError(
                f"--optimum needs the unit time model; workload {config.workload!r} runs in "
                f"{time_model!r} time (use paper-model1, paper-model2, adversarial-style or "
                "--time-model unit)"
            )


@dataclass
class CompareResult:
    """Rows (one per scenario and agent), the per-agent summary, and per-request latencies.

    ``latencies`` maps :func:`latency_key` of each run to the latency of every request.
    """

    config: CompareConfig
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]] = field(default_factory=list)
    latencies: dict[str, np.ndarray] = field(default_factory=dict)


def latency_key(agent: str, rate: Any, seed: int) -> str:
    """The key of one run's latencies in :attr:`CompareResult.latencies`."""
    return f"{agent}|rate={rate}|seed={seed}"


def parse_latency_key(key: str) -> tuple[str, float | None, int]:
    """``(agent, rate, seed)`` from a :func:`latency_key` (rate ``None`` when not swept)."""
    rest, _, seed = key.rpartition("|seed=")
    agent, _, rate = rest.rpartition("|rate=")
    return agent, None if rate == "None" else float(rate), int(seed)


def _with_ci(entry: dict[str, Any], key: str, values: Sequence[float], confidence: float) -> None:
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if finite:
        # Every summarised quantity (latency, counts, memory, ratio) is >= 0.
        entry[key], entry[f"{key}_low"], entry[f"{key}_high"] = mean_ci(
            finite, confidence, minimum=0.0
        )
    else:
        entry[key] = entry[f"{key}_low"] = entry[f"{key}_high"] = math.nan


def summarize(
    rows: Sequence[dict[str, Any]], baseline: str, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Per (rate, agent): mean and confidence interval of each metric, and the paired ratios.

    ``ratio_to_<baseline>`` is the mean over seeds of ``mean_latency(agent) /
    mean_latency(baseline)`` on the same scenario. When the rows hold the hindsight optimum,
    ``ratio_to_optimum`` and ``ratio_to_bound`` are summarised the same way, and
    ``proven_optimal`` counts the scenarios whose optimum was proven.
    """
    groups: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    reference: dict[tuple[Any, int], float] = {}
    for row in rows:
        rate = row.get("rate")
        groups[(rate, row["agent"])].append(row)
        if row["agent"] == baseline:
            reference[(rate, row["seed"])] = row["mean_latency"]
    summary = []
    for (rate, agent), members in sorted(
        groups.items(), key=lambda item: (item[0][0] or 0, item[0][1])
    ):
        entry: dict[str, Any] = {
            "agent": agent,
            "rate": rate,
            "seeds": len(members),
            "time_model": members[0]["time_model"],
        }
        for metric in SUMMARY_METRICS:
            _with_ci(entry, metric, [row[metric] for row in members], confidence)
        ratios = [
            row["mean_latency"] / reference[(rate, row["seed"])]
            for row in members
            if reference.get((rate, row["seed"]), 0) > 0
        ]
        _with_ci(entry, f"ratio_to_{baseline}", ratios, confidence)
        if "ratio_to_optimum" in members[0]:
            for key in OPTIMUM_RATIOS:
                _with_ci(entry, key, [row[key] for row in members], confidence)
            entry["proven_optimal"] = sum(bool(row["proven_optimal"]) for row in members)
        summary.append(entry)
    return summary


def compare(
    config: CompareConfig,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> CompareResult:
    """Run a comparison: every agent on every (rate, seed) scenario, then summarise.

    The configuration is checked first (:func:`check_config`), then the jobs run on the
    backend; see :func:`evaluation.runner.run_jobs` for ``backend``, ``workers`` and
    ``address``. Rows are sorted by rate, seed and agent, whatever order jobs finish in.
    """
    check_config(config)
    results = run_jobs(
        config.jobs(),
        backend=backend,
        workers=workers,
        address=address,
        progress=progress,
        description="compare",
    )
    rows = sorted(
        (row for batch in results for row in batch),
        key=lambda row: (row.get("rate") or 0, row["seed"], row["agent"]),
    )
    latencies = {
        latency_key(row["agent"], row.get("rate"), row["seed"]): row.pop(LATENCIES) for row in rows
    }
    summary = summarize(rows, config.baseline, config.confidence)
    return CompareResult(config, rows, summary, latencies)


def _decimals(value: float) -> int:
    """Decimals that show about four significant digits of ``value`` (none for >= 1000)."""
    if value == 0:
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    return min(4, max(0, 3 - magnitude))


def _plus_minus(entry: Mapping[str, Any], key: str, interval: bool = True) -> str:
    """``mean ± half-width`` of a summarised metric (just the mean without an interval)."""
    mean, low, high = (entry.get(name) for name in (key, f"{key}_low", f"{key}_high"))
    if mean is None or not math.isfinite(mean):
        return "nan"
    decimals = _decimals(mean)
    text = f"{mean:.{decimals}f}"
    if not interval or low is None or high is None:
        return text
    if not (math.isfinite(low) and math.isfinite(high)):
        return text
    return f"{text} ± {(high - low) / 2:.{decimals}f}"


def summary_table(
    summary: Sequence[Mapping[str, Any]], baseline: str, confidence: float = 0.95
) -> str:
    """The comparison summary as a plain-text table, with a legend of units and intervals.

    Columns: mean, p50 and p99 latency, mean time to first token, throughput, evictions, mean
    and peak KV-cache use, the paired ratio of mean latency to ``baseline``, and (when the
    optimum was solved) the ratios of total latency to the optimum and to its proven bound.
    Values are means over seeds; ``±`` gives the half-width of the confidence interval (for
    mean and p99 latency and the ratios; the files hold every interval).
    """
    from evaluation.io import format_table

    if not summary:
        return "(no results)"
    swept = any(entry.get("rate") is not None for entry in summary)
    optimum = "ratio_to_optimum" in summary[0]
    unit = "rounds" if summary[0]["time_model"] == "unit" else "s"
    rate_unit = "requests/round" if unit == "rounds" else "requests/s"
    throughput = "tokens/round" if unit == "rounds" else "tokens/s"
    columns = {
        "agent": lambda e: e["agent"],
        **({"rate": lambda e: f"{e['rate']:g}"} if swept else {}),
        "mean latency": lambda e: _plus_minus(e, "mean_latency"),
        "p50": lambda e: _plus_minus(e, "p50_latency", False),
        "p99": lambda e: _plus_minus(e, "p99_latency"),
        "TTFT": lambda e: _plus_minus(e, "ttft_mean", False),
        throughput: lambda e: _plus_minus(e, "throughput_tokens_per_s", False),
        "evictions": lambda e: _plus_minus(e, "evictions", False),
        "mean KV": lambda e: _plus_minus(e, "mean_memory", False),
        "peak KV": lambda e: _plus_minus(e, "peak_memory", False),
        f"/ {baseline}": lambda e: _plus_minus(e, f"ratio_to_{baseline}"),
        **(
            {
                "/ OPT": lambda e: _plus_minus(e, "ratio_to_optimum"),
                "/ bound": lambda e: _plus_minus(e, "ratio_to_bound"),
                "proven": lambda e: f"{e['proven_optimal']}/{e['seeds']}",
            }
            if optimum
            else {}
        ),
    }
    table = format_table(
        [{name: cell(entry) for name, cell in columns.items()} for entry in summary],
        list(columns),
    )
    seeds = sorted({entry["seeds"] for entry in summary})
    legend = [
        f"means over {'/'.join(map(str, seeds))} seeds; ± is the half-width of the "
        f"{confidence:.0%} confidence interval (Student t)",
        f"latency, p50, p99 and TTFT (time to first token) in {unit}"
        + (f"; rate in {rate_unit}" if swept else "")
        + f"; {throughput}: throughput; mean/peak KV: KV-cache tokens held",
        f"/ {baseline}: mean latency divided by {baseline}'s on the same scenario (paired)",
    ]
    if optimum:
        legend.append(
            "/ OPT, / bound: total latency over the hindsight optimum (best schedule found) and "
            "over its proven lower bound (an upper bound on the true ratio); proven: scenarios "
            "solved to optimality"
        )
    return table + "\n\n" + "\n".join(legend)
