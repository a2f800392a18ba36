"""Reference agents: MC-SF, the paper's baselines and the literature's heuristics, by name.

Build one by name with :func:`make_agent` (``"mcsf"``, ``"mc-benchmark"``,
``"alpha-greedy:alpha=0.2"``, ``"alpha-beta:alpha=0.1,beta=0.1"``, ``"vllm-fcfs"``,
``"sf-no-lookahead"``, ``"mcsf-reference"``, ``"mcsf-skip"``, ``"area-skip"``, ``"sorted-f"``,
``"a-max"``, ``"a-min"``, ``"wait"``, ``"nested-wait"``, ``"gba"``, ``"gsa"``, ``"vllm-v1"``,
``"ppo:PATH"``, ``"maskable-ppo:PATH"``; every rule agent takes ``eviction=``) and run it with
:func:`run_agent`, which applies the eviction policy the agent's rule assumes. The rules,
their sources and measurements are in ``docs/agents.md``.
"""

from agents.a_max import AMax
from agents.a_min import AMin
from agents.alpha_beta import AlphaBeta
from agents.alpha_greedy import AlphaGreedy
from agents.area_skip import AreaSkip
from agents.base import Agent, NotApplicableError
from agents.geometric import GBA, GSA
from agents.mc_benchmark import MCBenchmark
from agents.mcsf import MCSF
from agents.mcsf_reference import MCSFReference
from agents.mcsf_skip import MCSFSkip
from agents.nested_wait import NestedWait
from agents.registry import AGENTS, make_agent, run_agent
from agents.replay import Replay
from agents.sf_no_lookahead import SFNoLookahead
from agents.sorted_f import SortedF
from agents.vllm_fcfs import VLLMFCFS
from agents.vllm_v1 import VLLMV1
from agents.wait import Wait

__all__ = [
    "AGENTS",
    "GBA",
    "GSA",
    "MCSF",
    "VLLMFCFS",
    "VLLMV1",
    "AMax",
    "AMin",
    "Agent",
    "AlphaBeta",
    "AlphaGreedy",
    "AreaSkip",
    "MCBenchmark",
    "MCSFReference",
    "MCSFSkip",
    "NestedWait",
    "NotApplicableError",
    "Replay",
    "SFNoLookahead",
    "SortedF",
    "Wait",
    "make_agent",
    "run_agent",
]
