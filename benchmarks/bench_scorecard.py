"""Time the scorecard of MC-SF on the whole core-v1 suite (the issue asks for <= 5 minutes).

Usage::

    MCSF_GYM_DATA=../shared/data python benchmarks/bench_scorecard.py [--agent mcsf]

Prints the seconds per task and in total (one process; the scorecard needs no solver).
"""

from __future__ import annotations

import argparse
import time

from evaluation import evaluate
from mcsf_gym.suites import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="mcsf")
    parser.add_argument("--suite", default="core-v1")
    args = parser.parse_args()
    began = time.perf_counter()
    total = 0
    for task in load_suite(args.suite).tasks:
        start = time.perf_counter()
        card = evaluate(args.agent, args.suite, tasks=[task.name])
        total += card.aggregate["scenarios"]
        row = card[task.name]
        print(
            f"{task.name:>20}  {time.perf_counter() - start:6.2f} s  "
            f"TEL/best {row['ratio_to_best']:.3f}  TEL/bound {row['ratio_to_bound']:.3f}"
        )
    print(f"{args.agent} on {args.suite}: {total} scenarios in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
