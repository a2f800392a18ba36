"""The long property run: random and invalid-action episodes, and every agent under every policy.

Random and invalid-action episodes over every environment option, and every agent under every
eviction policy on random instances with under-predictions.

Checks, per case: no exception other than the documented ones, no hang (each case under a
wall-clock limit), and the invariants: every request completes exactly once, memory never
above ``M``, latencies add up to the total (rewards sum to ``-TEL / reward_scale`` in the
environment), observations inside the observation space, and the same result under the same
seed. A :class:`~mcsf_gym.core.NoProgressError` (an agent re-admitting what ``clear-all``
evicts) is a documented result and is counted apart.

    python scripts/property_run.py --episodes 100000 --agent-runs 10000 --workers 2 \
        --out results/property_run

writes ``summary.json`` (counts, failures with the case that failed) and prints a table. It
exits with status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

import mcsf_gym
from agents import AGENTS, make_agent
from mcsf_gym import Instance, simulate
from mcsf_gym.core import NoProgressError
from mcsf_gym.env.kv_cache_env import KVCacheSchedulingEnv

ENV_OPTIONS: dict[str, list[Any]] = {
    "workload": ["paper-model1:n={n}", "paper-model2:n={n}", "lmsys:n={n},rate=20"],
    "eviction": ["clear-all", "newest-first", "random:beta=0.3", "random:beta=1e-9"],
    "masking": ["lookahead", "next-round", "none"],
    "order": ["prediction", "arrival"],
    "action": ["admit", "priority"],
    "observation": ["flat", "dict", "flat:bins=3,time_scale=8"],
    "prediction": [None, "noisy:eps=0.5", "upper:alpha=2", "interval:eps=0.5"],
    "time_model": [None, "unit", "linear"],
    "window": [1, 4, 8],
    "allow_idle": [False, True],
    "reward_scale": [1.0, 7.5],
}
EVICTIONS = ["clear-all", "newest-first", "random:beta=0.3", "random:beta=1e-12"]
CASE_SECONDS = 60


class Hang(Exception):
    """A case ran past its wall-clock limit."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`Hang` in the block after ``seconds``."""

    def expired(signum: int, frame: object) -> None:
        raise Hang(f"ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def random_env_options(rng: np.random.Generator) -> dict[str, Any]:
    """One random choice of every environment option."""
    options = {key: values[rng.integers(len(values))] for key, values in ENV_OPTIONS.items()}
    options["workload"] = options["workload"].format(n=int(rng.integers(2, 16)))
    if options["time_model"] == "unit" and options["workload"].startswith("lmsys"):
        options["time_model"] = None  # lmsys arrivals are seconds, not integer rounds
    return {key: value for key, value in options.items() if value is not None}


def random_action(env: KVCacheSchedulingEnv, rng: np.random.Generator) -> Any:
    """A masked random action, an unmasked one, or an out-of-range one."""
    mask = env.action_masks()
    draw = rng.random()
    if env.config.action == "priority":
        return rng.uniform(-1.5, 1.5, size=env.action_space.shape).astype(np.float32)
    if draw < 0.1:
        return int(rng.choice([-1, env.action_space.n, env.action_space.n + 7]))
    if draw < 0.3:
        return int(rng.integers(env.action_space.n))
    return int(rng.choice(np.flatnonzero(mask))) if mask.any() else env.action_space.n - 1


def env_episode(options: dict[str, Any], seed: int, rng: np.random.Generator) -> str:
    """One episode; returns ``"terminated"`` or ``"truncated"``; raises on a violation."""
    env = KVCacheSchedulingEnv(**options)
    obs, info = env.reset(seed=seed)
    total_reward = 0.0
    steps = 0
    while True:
        if steps % 16 == 0 and not env.observation_space.contains(obs):
            raise AssertionError(f"observation outside the space at step {steps}")
        if not np.array_equal(info["action_mask"], env.action_masks()):
            raise AssertionError("info['action_mask'] differs from action_masks()")
        obs, reward, terminated, truncated, info = env.step(random_action(env, rng))
        total_reward += float(reward)
        steps += 1
        if terminated or truncated:
            break
    if truncated:
        return "truncated"
    result = info["result"]
    n = result.instance.n
    if not np.isfinite(result.finish).all() or result.finish.size != n:
        raise AssertionError("a request did not finish exactly once")
    if result.metrics["peak_memory"] > result.memory:
        raise AssertionError(f"peak memory {result.metrics['peak_memory']} > M {result.memory}")
    scale = options.get("reward_scale", 1.0)
    if not math.isclose(total_reward * scale, -result.total_latency, rel_tol=1e-9, abs_tol=1e-6):
        raise AssertionError(
            f"rewards sum to {total_reward * scale}, not -TEL = {-result.total_latency}"
        )
    return "terminated"


def random_instance(rng: np.random.Generator, unit: bool) -> tuple[Instance, int]:
    """A random instance with under- and over-predictions and an ``M`` that binds."""
    n = int(rng.integers(1, 25))
    memory = int(rng.integers(12, 80))
    prompt = rng.integers(1, 6, size=n)
    output = np.array([rng.integers(1, memory - s + 1) for s in prompt])
    noise = rng.uniform(0.2, 1.8, size=n)
    prediction = np.maximum(1, np.round(output * noise)).astype(int)
    # Interval predictions [lower, prediction] for the interval-aware agents; the true length
    # may lie outside (under-predicted upper ends), as with noisy intervals.
    lower = np.maximum(1, np.floor(prediction * rng.uniform(0.3, 1.0, size=n))).astype(int)
    if unit:
        arrival = np.sort(rng.integers(0, max(1, 2 * n), size=n)).astype(float)
    else:
        arrival = np.sort(rng.uniform(0, 0.05 * n, size=n))
    return Instance(arrival, prompt, output, prediction=prediction, lower=lower), memory


def agent_run(agent: str, eviction: str, seed: int) -> str:
    """One agent run; returns ``"finished"`` or ``"no-progress"``; raises on a violation."""
    rng = np.random.default_rng(seed)
    unit = bool(rng.integers(2))
    inst, memory = random_instance(rng, unit)
    time_model = "unit" if unit else "linear"

    def run() -> Any:
        return simulate(
            inst, make_agent(agent), memory=memory, time_model=time_model, eviction=eviction,
            seed=seed,
        )  # fmt: skip

    try:
        result = run()
    except NoProgressError:
        return "no-progress"
    if not np.isfinite(result.finish).all():
        raise AssertionError("a request did not finish")
    if result.metrics["peak_memory"] > memory:
        raise AssertionError(f"peak memory {result.metrics['peak_memory']} > M {memory}")
    latency = float(np.sum(result.finish - inst.arrival))
    if not math.isclose(latency, result.total_latency, rel_tol=1e-9, abs_tol=1e-9):
        raise AssertionError(f"latencies sum to {latency}, TEL is {result.total_latency}")
    if unit and not np.all(result.finish >= result.start + inst.output):
        raise AssertionError("a request finished before producing its output")
    if seed % 10 == 0 and not np.array_equal(run().finish, result.finish):
        raise AssertionError("the same seed gave another result")
    return "finished"


def env_cases(seed: int, indices: range) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Environment episodes ``indices`` of the run with this seed (each its own generator)."""
    counts: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    for episode in indices:
        rng = np.random.default_rng([seed, 0, episode])
        options = random_env_options(rng)
        try:
            with warnings.catch_warnings(), time_limit(CASE_SECONDS):
                warnings.simplefilter("ignore", UserWarning)  # truncations are counted
                counts["env " + env_episode(options, episode, rng)] += 1
        except Exception as error:
            kind = "hang" if isinstance(error, Hang) else type(error).__name__
            counts[f"env {kind}"] += 1
            failures.append({"case": "env", "options": options, "seed": episode,
                             "error": f"{kind}: {error}",
                             "trace": traceback.format_exc(limit=4)})  # fmt: skip
    return counts, failures


def agent_cases(seed: int, indices: range) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Agent runs ``indices``: agent and eviction policy by index, instance by seed and index."""
    counts: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    agents = agent_names()
    for run in indices:
        agent = agents[run % len(agents)]
        eviction = EVICTIONS[(run // len(agents)) % len(EVICTIONS)]
        try:
            with time_limit(CASE_SECONDS):
                counts[f"agent {agent_run(agent, eviction, seed * 1_000_003 + run)}"] += 1
        except Exception as error:
            kind = "hang" if isinstance(error, Hang) else type(error).__name__
            counts[f"agent {kind}"] += 1
            failures.append({"case": "agent", "agent": agent, "eviction": eviction,
                             "seed": run, "error": f"{kind}: {error}",
                             "trace": traceback.format_exc(limit=4)})  # fmt: skip
    return counts, failures


def agent_names() -> list[str]:
    """Every registered agent except the learned ones (they need a model file)."""
    return [name for name in AGENTS.names() if "ppo" not in name]


def _commit() -> str | None:
    """The git commit of the checkout the run was made from, if any."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Run the property run and write its summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=100_000, help="environment episodes")
    parser.add_argument("--agent-runs", type=int, default=10_000, help="agent runs in all")
    parser.add_argument(
        "--start", type=int, default=0,
        help="index of the first episode and agent run (to split one run over machines)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole run")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--out", type=Path, default=Path("results/property_run"))
    args = parser.parse_args(argv)
    from tqdm import tqdm

    chunk = 500
    env_end, agent_end = args.start + args.episodes, args.start + args.agent_runs
    jobs = [
        (env_cases, range(i, min(i + chunk, env_end))) for i in range(args.start, env_end, chunk)
    ]
    jobs += [(agent_cases, range(i, min(i + chunk // 10, agent_end)))
             for i in range(args.start, agent_end, chunk // 10)]  # fmt: skip
    counts: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    done = 0

    def record(chunk_counts: Counter[str], chunk_failures: list[dict[str, Any]]) -> dict:
        nonlocal done
        counts.update(chunk_counts)
        failures.extend(chunk_failures)
        done += 1
        summary = {
            "command": "python scripts/property_run.py " + " ".join(argv or sys.argv[1:]),
            "mcsf_gym_version": mcsf_gym.__version__,
            "commit": commit,
            "start": args.start,
            "episodes": args.episodes,
            "agent_runs": args.agent_runs,
            "chunks_done": f"{done} of {len(jobs)}",
            "agents": agent_names(),
            "evictions": EVICTIONS,
            "env_options": ENV_OPTIONS,
            "counts": dict(sorted(counts.items())),
            "failures": failures[:200],
            "n_failures": len(failures),
            "seconds": round(time.perf_counter() - started, 1),
        }
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    commit = _commit()
    summary = record(Counter(), [])
    done = 0
    if args.workers == 1:
        results = (job(args.seed, indices) for job, indices in jobs)
        for chunk_counts, chunk_failures in tqdm(results, total=len(jobs), desc="chunks"):
            summary = record(chunk_counts, chunk_failures)
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [pool.submit(job, args.seed, indices) for job, indices in jobs]
            for future in tqdm(as_completed(futures), total=len(futures), desc="chunks"):
                summary = record(*future.result())
    for key, value in summary["counts"].items():
        print(f"{key:32s} {value:>8d}")
    print(f"failures: {len(failures)}; {summary['seconds']} s; wrote {args.out / 'summary.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
