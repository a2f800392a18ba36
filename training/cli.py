"""``mcsf-train`` / ``python -m training``: train a scheduling policy from a TOML config."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.config import TrainConfig

CONFIG_DIR = Path(__file__).parent / "configs"


def shipped_configs() -> list[str]:
    """Names of the configs in ``training/configs/``."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.toml"))


def config_keys_help() -> str:
    """The TOML keys and their meaning, from :class:`training.config.TrainConfig`'s docstring."""
    import inspect

    from training.config import TrainConfig

    doc = inspect.getdoc(TrainConfig) or ""
    keys = plain_text(doc.partition("Args:")[2].rstrip())
    return "config keys (TOML top level; [env_kwargs] and [algo_kwargs] are tables):" + keys


def plain_text(doc: str) -> str:
    """Docstring markup as plain text: ``:func:`x.y``` -> ``x.y``, double backquotes dropped."""
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


def build_parser() -> argparse.ArgumentParser:
    """The ``mcsf-train`` argument parser (``--help`` also lists every config key)."""
    parser = argparse.ArgumentParser(
        prog="mcsf-train",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=config_keys_help(),
        description=(
            "Train a scheduling policy on an mcsf-gym environment with stable-baselines3\n"
            "(MaskablePPO for the admit mode, PPO for the priority mode) from a TOML config\n"
            "(its keys are listed below; the options override them).\n\n"
            "OUT receives model.zip, vecnormalize.pkl and config.json (use them as an agent:\n"
            "agents.make_agent('maskable-ppo:OUT')), best_model.zip (best ratio to MC-SF on\n"
            "the held-out eval_seeds; 'maskable-ppo:OUT/best_model.zip'), eval.jsonl,\n"
            "checkpoints/ and TensorBoard logs (tensorboard --logdir OUT/tb)."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        help=f"a TOML file, or the name of a shipped config ({', '.join(shipped_configs())}); "
        "'smoke' trains a tiny model in about a minute",
    )
    parser.add_argument("--out", default=None, help="output folder (overrides 'out')")
    parser.add_argument(
        "--total-timesteps",
        type=int,
        default=None,
        help="training budget in environment steps, over all environments; with --resume, "
        "the steps to add",
    )
    parser.add_argument("--n-envs", type=int, default=None, help="parallel environments")
    parser.add_argument(
        "--vec-env",
        choices=("subproc", "dummy"),
        default=None,
        help="'subproc' (one process per environment) or 'dummy' (in-process; best for "
        "small environments on few cores)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the model and envs")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="train once per seed, into OUT/seed-S (each with its run.json); with --jobs "
        "runs at a time",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="with --seeds: 'local' (a pool of --jobs processes) or 'ray' (one Ray task per "
        "seed, one CPU each, on the cluster named by RAY_ADDRESS, else on a local Ray "
        "instance of --jobs CPUs; pip install 'mcsf-gym[ray]')",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="with --seeds: seeds trained at a time (local processes, or the CPUs of a "
        "local Ray instance)",
    )
    parser.add_argument(
        "--eval-freq",
        type=int,
        default=None,
        help="environment steps between evaluations against MC-SF (0: never)",
    )
    parser.add_argument(
        "--checkpoint-freq",
        type=int,
        default=None,
        help="environment steps between checkpoints (0: never)",
    )
    parser.add_argument("--device", default=None, help="torch device (cpu, cuda, auto)")
    parser.add_argument(
        "--resume",
        default=None,
        metavar="ZIP",
        help="a checkpoint or model .zip to continue training from (its VecNormalize "
        "statistics beside it are restored; the environments restart their scenario streams "
        "from the seed, so pass another --seed to draw fresh scenarios)",
    )
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
    raise ValueError(f"no config file {name!r}; shipped configs: {', '.join(shipped_configs())}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mcsf-train``; user errors print one line and exit with status 2.

    With no arguments it prints the usage and the shipped configs, and trains nothing.
    """
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else list(argv)):
        parser.print_usage(sys.stderr)
        print(
            "mcsf-train: give --config: a TOML file or one of the shipped configs "
            f"({', '.join(shipped_configs())}); e.g. 'mcsf-train --config smoke' trains a tiny "
            "model; --help lists every option and config key",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(argv)
    try:
        from training.config import TrainConfig
        from training.train import train

        config = TrainConfig.from_toml(resolve_config_path(args.config)).with_overrides(
            out=args.out,
            total_timesteps=args.total_timesteps,
            n_envs=args.n_envs,
            vec_env=args.vec_env,
            seed=args.seed,
            eval_freq=args.eval_freq,
            checkpoint_freq=args.checkpoint_freq,
            device=args.device,
            progress_bar=False if args.no_progress else None,
        )
        if args.seeds is not None:
            return _train_seeds(config, args)
        print(
            f"training {config.algo} on {config.env_id} for {config.total_timesteps} steps "
            f"({config.n_envs} envs, seed {config.seed}) into {config.out}",
            flush=True,
        )
        path = train(config, resume=args.resume, log=lambda line: print(line, flush=True))
    except (ValueError, ImportError) as error:
        print(f"mcsf-train: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _train_seeds(config: TrainConfig, args: argparse.Namespace) -> int:
    """``--seeds``: every seed into ``OUT/seed-S`` (see :mod:`training.runs`)."""
    from training.runs import train_seeds

    if args.seed is not None or args.resume is not None:
        raise ValueError("--seeds cannot be combined with --seed or --resume")
    print(
        f"training seeds {args.seeds} into {config.out}/seed-S "
        f"({args.backend}, {args.jobs} at a time)",
        flush=True,
    )
    paths = train_seeds(
        config,
        args.seeds,
        backend=args.backend,
        jobs=args.jobs,
        log=lambda line: print(line, flush=True),
    )
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
