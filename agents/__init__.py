"""Reference agents: MC-SF and the baselines of the paper, behind a registry.

Build one by name with :func:`make_agent` (``"mcsf"``, ``"mc-benchmark"``,
``"alpha-greedy:alpha=0.2"``, ``"alpha-beta:alpha=0.1,beta=0.1"``, ``"vllm-fcfs"``,
``"sf-no-lookahead"``, ``"mcsf-reference"``, ``"ppo:PATH"``, ``"maskable-ppo:PATH"``) and run it
with :func:`run_agent`, which applies the eviction policy the agent's rule assumes.
"""

from agents.alpha_beta import AlphaBeta
from agents.alpha_greedy import AlphaGreedy
from agents.base import Agent
from agents.mc_benchmark import MCBenchmark
from agents.mcsf import MCSF
from agents.mcsf_reference import MCSFReference
from agents.registry import AGENTS, make_agent, run_agent
from agents.replay import Replay
from agents.sf_no_lookahead import SFNoLookahead
from agents.vllm_fcfs import VLLMFCFS

__all__ = [
    "AGENTS",
    "MCSF",
    "VLLMFCFS",
    "Agent",
    "AlphaBeta",
    "AlphaGreedy",
    "MCBenchmark",
    "MCSFReference",
    "Replay",
    "SFNoLookahead",
    "make_agent",
    "run_agent",
]
