"""mcsf-gym: online LLM-inference scheduling under KV-cache limits, as a simulator and RL task.

Importing the package registers the Gymnasium environments (by string entry point, so nothing
heavy is imported before ``gymnasium.make``).
"""

from mcsf_gym.core import Instance, SimConfig, SimulationResult, StateView, simulate
from mcsf_gym.env.registration import register_envs

register_envs()

__version__ = "0.1.0"

__all__ = ["Instance", "SimConfig", "SimulationResult", "StateView", "__version__", "simulate"]
