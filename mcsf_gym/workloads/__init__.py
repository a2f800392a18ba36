"""Workloads: seeded generators of scenarios (requests plus the worker they are meant for).

Build one from a spec with :func:`make_workload` and draw scenarios with an explicit
``numpy.random.Generator``::

    workload = make_workload("lmsys:rate=50,n=10000")
    scenario = workload.sample(np.random.default_rng(0))
    simulate(scenario.instance, scheduler, memory=scenario.memory,
             time_model=scenario.time_model)

Registered workloads (parameters after a colon, comma separated):

=====================  ==========================================================  =========
name                   what                                                        time
=====================  ==========================================================  =========
``paper-model1``       the paper's synthetic model 1, all arrivals at round 0      unit
``paper-model2``       synthetic model 2, Poisson arrivals in rounds (``load``)    unit
``poisson``            Poisson arrivals at ``rate``/s, ``lengths=lmsys|trace:P``   linear
``lmsys``              ``poisson`` with LMSYS-like lengths (the paper's setting)   linear
``heavy-tail``         ``poisson`` plus a fraction ``frac`` of extreme requests    linear
``adversarial-style``  a long request, then a burst it blocks (our construction)   unit
``trace``              replay a trace file/URL (``path=``), or resample (``rate=``)  linear
=====================  ==========================================================  =========

Traces are read by :func:`load_trace` (Vidur, Azure 2023/2024, BurstGPT, Mooncake, any CSV or
JSON lines with a column mapping; path or URL).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mcsf_gym.workloads.base import WORKLOADS, Scenario, Workload
from mcsf_gym.workloads.traces import TraceLoadResult, load_trace

WORKLOADS.register("paper-model1", "mcsf_gym.workloads.synthetic:PaperModel1")
WORKLOADS.register("paper-model2", "mcsf_gym.workloads.synthetic:PaperModel2")
WORKLOADS.register("poisson", "mcsf_gym.workloads.poisson:PoissonWorkload")
WORKLOADS.register("lmsys", "mcsf_gym.workloads.poisson:PoissonWorkload")
WORKLOADS.register("heavy-tail", "mcsf_gym.workloads.poisson:HeavyTailWorkload")
WORKLOADS.register("adversarial-style", "mcsf_gym.workloads.adversarial:AdversarialWorkload")
WORKLOADS.register("trace", "mcsf_gym.workloads.trace_replay:TraceWorkload")


def make_workload(spec: str | Workload, **overrides: Any) -> Workload:
    """A workload from a spec such as ``"lmsys:rate=50,n=10000"``, or a workload as given.

    Args:
        spec: ``name`` or ``name:key=value,...`` (see the module docstring), or a workload
            object (returned as is, or copied with ``overrides`` if it is a dataclass).
        **overrides: parameters that replace or extend those of the spec.

    Raises:
        ValueError: for an unknown name (listing the known ones), a parameter the workload
            does not take, or a bad parameter value (naming the field and the value).
    """
    if isinstance(spec, str):
        return WORKLOADS.make(spec, **overrides)
    if not isinstance(spec, Workload):
        raise ValueError(f"workload must be a spec string or have sample(rng), got {spec!r}")
    if not overrides:
        return spec
    if not dataclasses.is_dataclass(spec):
        raise ValueError(
            f"cannot apply overrides {sorted(overrides)} to {type(spec).__name__}, which is not "
            "a dataclass"
        )
    try:
        return dataclasses.replace(spec, **overrides)  # type: ignore[type-var]
    except TypeError as error:
        raise ValueError(f"workload {type(spec).__name__}: bad parameters ({error})") from error


__all__ = [
    "WORKLOADS",
    "Scenario",
    "TraceLoadResult",
    "Workload",
    "load_trace",
    "make_workload",
]
