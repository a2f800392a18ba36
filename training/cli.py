"""``mcsf-train``: train a scheduling policy from a TOML config, with overrides."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"


def build_parser() -> argparse.ArgumentParser:
    """The ``mcsf-train`` argument parser."""
    shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
    parser = argparse.ArgumentParser(
        prog="mcsf-train",
        description=(
            "Train a scheduling policy on an mcsf-gym environment with stable-baselines3 "
            "(MaskablePPO for the admit mode, PPO for the priority mode). Writes the model, "
            "checkpoints, TensorBoard logs (tensorboard --logdir OUT/tb), the VecNormalize "
            "statistics, config.json and eval.jsonl (ratio to MC-SF on held-out seeds) to OUT."
        ),
    )
    parser.add_argument(
        "--config",
        default="smoke",
        help=f"a TOML file, or the name of a shipped config ({shipped}) (default: %(default)s)",
    )
    parser.add_argument("--out", default=None, help="output folder (overrides the config's)")
    parser.add_argument(
        "--total-timesteps", type=int, default=None, help="training budget in environment steps"
    )
    parser.add_argument("--n-envs", type=int, default=None, help="parallel environments")
    parser.add_argument("--seed", type=int, default=None, help="seed of the model and envs")
    parser.add_argument(
        "--eval-freq", type=int, default=None, help="steps between evaluations (0: never)"
    )
    parser.add_argument(
        "--vec-env", choices=("subproc", "dummy"), default=None, help="vectorisation"
    )
    parser.add_argument("--resume", default=None, help="a checkpoint .zip to continue from")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def resolve_config_path(name: str) -> Path:
    """A config path from a file path or a shipped config name.

    Raises:
        ValueError: if neither exists.
    """
    path = Path(name)
    if path.is_file():
        return path
    shipped = CONFIG_DIR / f"{name}.toml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
    raise ValueError(f"no config file {name!r}; shipped configs: {known}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mcsf-train``; user errors print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        from training.config import TrainConfig
        from training.train import train

        config = TrainConfig.from_toml(resolve_config_path(args.config)).with_overrides(
            out=args.out,
            total_timesteps=args.total_timesteps,
            n_envs=args.n_envs,
            seed=args.seed,
            eval_freq=args.eval_freq,
            vec_env=args.vec_env,
            progress_bar=False if args.no_progress else None,
        )
        path = train(config, resume=args.resume)
    except (ValueError, ImportError) as error:
        print(f"mcsf-train: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
