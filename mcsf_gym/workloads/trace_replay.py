"""The ``trace`` workload: replay a trace's own arrivals, or resample it with Poisson arrivals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcsf_gym.core.predictions import Predictor
from mcsf_gym.workloads import validation
from mcsf_gym.workloads.arrivals import poisson_arrivals
from mcsf_gym.workloads.base import Scenario, build_scenario
from mcsf_gym.workloads.lengths import TraceLengths
from mcsf_gym.workloads.traces import FORMATS, OVERSIZE_POLICIES, TraceLoadResult, load_trace


@dataclass(frozen=True)
class TraceWorkload:
    """Requests from a trace file or URL, in one of two modes.

    - *Replay* (``rate=None``): the trace's own arrival times (scaled by ``time_scale``).
      With ``n`` set, a window of ``n`` consecutive requests starts at a uniformly random
      offset and is shifted to start at 0; with ``n=None`` the whole trace, every sample the
      same requests (only the predictions vary).
    - *Resample* (``rate`` set): ``n`` (default: the trace's size) (prompt, output) pairs
      drawn uniformly with replacement, arriving as a Poisson process of ``rate`` per second.
      The trace needs no arrival times in this mode.

    The trace is read once, when the workload is built (see
    :func:`~mcsf_gym.workloads.traces.load_trace` for formats and ``on_oversize``).

    Example:
        ``make_workload("trace:path=data/azure_llm_2023_conv.csv,n=1000")`` replays random
        1000-request windows of the Azure conversation trace (see docs/real_trace.md for
        where to download it);
        ``make_workload("trace:path=...,rate=20,n=5000")`` resamples it at 20 requests/s.

    Args:
        path: local path or ``http(s)://`` / ``file://`` URL of the trace.
        rate: ``None`` to replay, or arrivals per second (``> 0``) to resample.
        n: requests per sample (``>= 1``); ``None``: all rows.
        memory: ``M`` in tokens or a preset name.
        time_scale: factor on replayed arrival times (``0.5`` = twice the load), ``> 0``.
        on_oversize: rows with ``prompt + output > M``: ``"error"``, ``"drop"`` or ``"clip"``.
        format: trace format (``"auto"``, ``"vidur"``, ``"azure"``, ``"burstgpt"``,
            ``"mooncake"``, ``"csv"``, ``"jsonl"``).
        time_unit: unit of numeric timestamps (``"s"``, ``"ms"``, ``"us"``, ``"ns"``);
            ``None``: the format's own (milliseconds for Mooncake, seconds otherwise).
        prediction: prediction-model spec.
        time_model: time-model spec with real-valued arrivals (default ``"linear"``).
    """

    path: str
    rate: float | None = None
    n: int | None = None
    memory: int | str = 16492
    time_scale: float = 1.0
    on_oversize: str = "error"
    format: str = "auto"
    time_unit: str | None = None
    prediction: str | Predictor = "exact"
    time_model: str = "linear"
    trace: TraceLoadResult = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "trace"
        if not isinstance(self.path, str) or not self.path:
            validation.fail(owner, "path", self.path, "a non-empty path or URL")
        normalised = {
            "memory": validation.memory(owner, self.memory),
            "time_scale": validation.number(owner, "time_scale", self.time_scale, positive=True),
            "on_oversize": validation.choice(
                owner, "on_oversize", self.on_oversize, OVERSIZE_POLICIES
            ),
            "format": validation.choice(owner, "format", self.format, FORMATS),
            "prediction": validation.prediction(owner, self.prediction),
            "time_model": validation.time_model(owner, self.time_model, real_arrivals=True),
        }
        if self.rate is not None:
            normalised["rate"] = validation.number(owner, "rate", self.rate, positive=True)
        if self.n is not None:
            normalised["n"] = validation.integer(owner, "n", self.n, 1)
        for name, value in normalised.items():
            object.__setattr__(self, name, value)
        trace = load_trace(
            self.path,
            format=self.format,
            memory=self.memory,
            on_oversize=self.on_oversize,
            time_scale=self.time_scale,
            time_unit=self.time_unit,
        )
        if self.rate is None:
            if not trace.has_arrivals:
                raise ValueError(
                    f"trace: {self.path!r} has no arrival times; give rate= to resample it "
                    "with Poisson arrivals"
                )
            if self.n is not None and self.n > trace.instance.n:
                raise ValueError(
                    f"trace: n must be <= the trace's {trace.instance.n} requests to replay a "
                    f"window, got {self.n}"
                )
        object.__setattr__(self, "trace", trace)

    def sample(self, rng: np.random.Generator) -> Scenario:
        """Replay a window of the trace, or resample it with Poisson arrivals."""
        instance = self.trace.instance
        n = instance.n if self.n is None else int(self.n)
        if self.rate is None:
            start = int(rng.integers(0, instance.n - n + 1))
            window = slice(start, start + n)
            arrival = instance.arrival[window] - instance.arrival[start]
            prompt, output = instance.prompt[window], instance.output[window]
        else:
            arrival = poisson_arrivals(n, float(self.rate), rng)
            prompt, output = TraceLengths(instance.prompt, instance.output).sample(n, rng)
        return build_scenario(
            arrival,
            prompt,
            output,
            memory=int(self.memory),
            time_model=self.time_model,
            prediction=self.prediction,
            rng=rng,
        )
