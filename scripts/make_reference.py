"""Recompute the reference data of a benchmark suite (bounds and best-known schedules).

Usage::

    MCSF_GYM_DATA=../shared/data python scripts/make_reference.py --suite core-v1
    python scripts/make_reference.py --suite core-v1 --tasks lmsys-rate50-v1 --workers 2
    python scripts/make_reference.py --tasks paper-model1-v1 paper-model2-v1 --search-seconds 3

Writes ``mcsf_gym/suites/reference/SUITE/TASK.json`` (see ``docs/benchmark.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evaluation.bench_reference import make_reference


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and recompute the reference files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="core-v1", help="suite name (default: core-v1)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task names (default: all)")
    parser.add_argument(
        "--agents", nargs="+", default=None, help="candidate agents (default: every registered)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=0.0,
        help="hindsight solver seconds per unit-time scenario (default 0: not run)",
    )
    parser.add_argument(
        "--search-seconds",
        type=float,
        default=0.0,
        help="seconds of the hindsight schedule search per unit-time scenario (default 0: "
        "not run; the committed data used 3)",
    )
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    args = parser.parse_args(argv)
    paths = make_reference(
        args.suite,
        args.tasks,
        args.agents,
        time_limit=args.time_limit,
        search_seconds=args.search_seconds,
        workers=args.workers,
        backend=args.backend,
    )
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
