"""Environment throughput: steps per second with random valid actions, next to CartPole-v1.

Both environments are built with ``gymnasium.make`` (so both carry Gymnasium's default
wrappers) and stepped in the same process, one after the other, with a seeded generator:
the KV-cache environment with a uniformly random action among those its mask allows (admit
mode: ``K + 1`` actions; priority mode: uniform scores in [-1, 1]), CartPole with a uniformly
random action. Episodes that end are reset inside the timed loop. The ratio is
``env steps/s / CartPole steps/s``.

The vector mode (``--num-envs N``, default 8; 0 skips it) times the native vector environment
(``gymnasium.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point")``) with a
random allowed action per instance (from ``action_masks()``; priority mode: uniform scores)
and reports its *total* steps per second (instance steps, ``N`` per call) next to CartPole's
single-environment rate. Every repeat times the three one after the other, so the ratios
compare rates measured side by side.

Usage::

    python benchmarks/bench_env.py --steps 20000 --repeats 3
    python benchmarks/bench_env.py --workload lmsys:n=2000 --json
    python benchmarks/bench_env.py --steps 5000 --out results/bench_env.json
    python benchmarks/bench_env.py --id mcsf_gym/KVCacheSchedulingPriority-v0
    python benchmarks/bench_env.py --profile 25
    python benchmarks/bench_env.py --profile 25 --num-envs 8 --profile-vector
    python benchmarks/bench_env.py --backend compiled --profile 25

Both backends (``backend="python"`` and ``"compiled"``, see ``mcsf_gym.env.native``) are
timed by default, in the same repeats as CartPole.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mcsf_gym  # noqa: F401  (registers the environments)


def time_env(env: gym.Env, steps: int, seed: int, masked: bool) -> dict[str, float]:
    """Step ``env`` ``steps`` times with random (valid) actions; return rates and counts."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    base = env.unwrapped
    space = env.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    episodes = 0
    rounds = 0
    start = time.perf_counter()
    for _ in range(steps):
        if masked and discrete:
            valid = np.flatnonzero(base.action_masks())
            action: Any = int(valid[rng.integers(valid.size)])
        elif discrete:
            action = int(rng.integers(space.n))
        else:
            action = rng.uniform(-1.0, 1.0, size=space.shape).astype(np.float32)
        _, _, terminated, truncated, info = env.step(action)
        rounds += info.get("rounds", 0)
        if terminated or truncated:
            episodes += 1
            env.reset()
    elapsed = time.perf_counter() - start
    return {
        "steps_per_s": steps / elapsed,
        "rounds_per_s": rounds / elapsed,
        "episodes": episodes,
        "seconds": elapsed,
    }


def time_vector_env(envs: gym.vector.VectorEnv, steps: int, seed: int) -> dict[str, float]:
    """Step ``envs`` until ``steps`` instance steps are done, with random allowed actions."""
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    discrete = isinstance(envs.single_action_space, gym.spaces.Discrete)
    calls = max(1, steps // envs.num_envs)
    episodes = 0
    start = time.perf_counter()
    for _ in range(calls):
        if discrete:
            masks = envs.action_masks()  # type: ignore[attr-defined]
            actions = (rng.random(masks.shape) * masks).argmax(axis=1)  # uniform among allowed
        else:
            actions = rng.uniform(-1.0, 1.0, size=envs.action_space.shape).astype(np.float32)
        _, _, terminated, truncated, _ = envs.step(actions)
        episodes += int(terminated.sum() + truncated.sum())
    elapsed = time.perf_counter() - start
    return {
        "steps_per_s": calls * envs.num_envs / elapsed,
        "episodes": episodes,
        "seconds": elapsed,
    }


def run(
    env_id: str,
    workload: str,
    steps: int,
    repeats: int,
    seed: int,
    num_envs: int = 8,
    backends: Sequence[str] = ("python", "compiled"),
) -> dict[str, Any]:
    """Median rates of ``repeats`` timings per backend (single and vector env) and CartPole-v1.

    Every repeat times each environment once, one after the other, so the ratios compare
    rates measured side by side.
    """
    singles = {name: gym.make(env_id, workload=workload, backend=name) for name in backends}
    vectors = {
        name: gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            workload=workload,
            backend=name,
        )
        for name in (backends if num_envs else ())
    }
    cartpole = gym.make("CartPole-v1")
    timings: dict[str, list[dict[str, float]]] = {"cartpole": []}
    for repeat in range(repeats):
        for name, env in singles.items():
            timings.setdefault(name, []).append(time_env(env, steps, seed + repeat, masked=True))
        for name, envs in vectors.items():
            timings.setdefault(f"{name}-vector", []).append(
                time_vector_env(envs, steps, seed + repeat)
            )
        timings["cartpole"].append(time_env(cartpole, steps, seed + repeat, masked=False))
    cartpole_rate = statistics.median(r["steps_per_s"] for r in timings["cartpole"])
    results: dict[str, Any] = {}
    for name in backends:
        ours = timings[name]
        rate = statistics.median(r["steps_per_s"] for r in ours)
        entry = {
            "env_steps_per_s": rate,
            "env_rounds_per_s": statistics.median(r["rounds_per_s"] for r in ours),
            "env_episodes": sum(r["episodes"] for r in ours),
            "ratio_to_cartpole": rate / cartpole_rate,
        }
        if name in vectors:
            batched = timings[f"{name}-vector"]
            vector_rate = statistics.median(r["steps_per_s"] for r in batched)
            entry.update(
                {
                    "vector_num_envs": num_envs,
                    "vector_steps_per_s": vector_rate,
                    "vector_episodes": sum(r["episodes"] for r in batched),
                    "vector_ratio_to_cartpole": vector_rate / cartpole_rate,
                }
            )
        results[name] = entry
    return {
        "python": platform.python_version(),
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "env_id": env_id,
        "workload": workload,
        "steps": steps,
        "repeats": repeats,
        "cartpole_steps_per_s": cartpole_rate,
        "backends": results,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Steps per second of the KV-cache scheduling environment with random valid "
        "actions, next to Gymnasium's CartPole-v1 measured in the same run."
    )
    parser.add_argument(
        "--id", default="mcsf_gym/KVCacheScheduling-v0", help="environment id (%(default)s)"
    )
    parser.add_argument(
        "--workload", default="paper-model2", help="workload spec (default: %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=20000, help="steps per timing (%(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timings, median kept (%(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    parser.add_argument(
        "--num-envs",
        type=int,
        default=8,
        help="instances of the vector environment timed too (%(default)s; 0: skip it)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=("python", "compiled"),
        help="backend to time (repeat the option for several; default: python and compiled; "
        "--profile uses the first)",
    )
    parser.add_argument(
        "--profile-vector",
        action="store_true",
        help="with --profile: profile the vector environment (--num-envs instances) instead",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", metavar="PATH", help="also write the result as JSON to PATH")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="instead of timing, profile one run and print the N most expensive functions",
    )
    args = parser.parse_args(argv)
    for name in ("steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    args.backend = args.backend or ["python", "compiled"]
    if args.num_envs < 0 or (args.profile_vector and args.num_envs < 1):
        parser.error(f"--num-envs must be >= 0 (>= 1 with --profile-vector), got {args.num_envs}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the result."""
    args = parse_args(argv)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        if args.profile_vector:
            envs = gym.make_vec(
                args.id,
                num_envs=args.num_envs,
                vectorization_mode="vector_entry_point",
                workload=args.workload,
                backend=args.backend[0],
            )
            profiler.runcall(time_vector_env, envs, args.steps, args.seed)
        else:
            env = gym.make(args.id, workload=args.workload, backend=args.backend[0])
            profiler.runcall(time_env, env, args.steps, args.seed, True)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
        return 0
    result = run(
        args.id, args.workload, args.steps, args.repeats, args.seed, args.num_envs, args.backend
    )
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{result['env_id']} ({result['workload']}); "
        f"CartPole-v1: {result['cartpole_steps_per_s']:,.0f} steps/s"
    )
    for name, entry in result["backends"].items():
        print(
            f"{name:>8} single env: {entry['env_steps_per_s']:,.0f} steps/s "
            f"({entry['ratio_to_cartpole']:.3f} x CartPole; {entry['env_episodes']} episodes)"
        )
        if "vector_steps_per_s" in entry:
            print(
                f"{name:>8} vector env, {entry['vector_num_envs']} instances: "
                f"{entry['vector_steps_per_s']:,.0f} steps/s in total "
                f"({entry['vector_ratio_to_cartpole']:.3f} x CartPole's single-env rate)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
