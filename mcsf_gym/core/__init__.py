"""The simulator core: instances, configuration, time models, predictions, eviction, engine."""

from mcsf_gym.core.checks import MAX_ARRIVAL, MAX_TOKENS
from mcsf_gym.core.config import MEMORY_PRESETS, SimConfig, resolve_memory
from mcsf_gym.core.engine import Engine, RoundReport
from mcsf_gym.core.eviction import EVICTION_POLICIES, make_eviction
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.lookahead import AdmissionCheck, MemoryProfile
from mcsf_gym.core.predictions import PREDICTORS, apply_predictions, make_predictor
from mcsf_gym.core.result import METRIC_NAMES, RoundTrace, SimulationResult
from mcsf_gym.core.scheduler import Scheduler
from mcsf_gym.core.simulate import NoProgressError, make_config, simulate
from mcsf_gym.core.time_models import TIME_MODELS, LinearTime, UnitTime, make_time_model
from mcsf_gym.core.view import StateView

__all__ = [
    "EVICTION_POLICIES",
    "MAX_ARRIVAL",
    "MAX_TOKENS",
    "MEMORY_PRESETS",
    "METRIC_NAMES",
    "PREDICTORS",
    "TIME_MODELS",
    "AdmissionCheck",
    "Engine",
    "Instance",
    "LinearTime",
    "MemoryProfile",
    "NoProgressError",
    "RoundReport",
    "RoundTrace",
    "Scheduler",
    "SimConfig",
    "SimulationResult",
    "StateView",
    "UnitTime",
    "apply_predictions",
    "make_config",
    "make_eviction",
    "make_predictor",
    "make_time_model",
    "resolve_memory",
    "simulate",
]
