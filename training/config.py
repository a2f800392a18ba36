"""The training configuration: one frozen dataclass, read from TOML, saved as JSON with a run."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: Algorithms and the action mode each one fits.
ALGORITHMS = {
    "maskable-ppo": "admit",  # sb3-contrib MaskablePPO: discrete actions with masks
    "ppo": "any",  # stable-baselines3 PPO: the priority (Box) mode, or admit without masks
    "a2c": "any",  # stable-baselines3 A2C
}
VEC_ENVS = ("subproc", "dummy")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on.

    Args:
        algo: ``"maskable-ppo"`` (admit mode, with action masks), ``"ppo"`` or ``"a2c"``.
        env_id: a registered environment id.
        env_kwargs: keyword arguments of ``gymnasium.make`` (workload, memory, window, ...).
        n_envs: parallel environments.
        vec_env: ``"subproc"`` (one process per environment) or ``"dummy"`` (in-process).
        total_timesteps: training budget in environment steps.
        seed: seed of the model and of the training environments.
        out: output folder (model, checkpoints, TensorBoard logs, config).
        normalize_obs: normalise observations with running statistics (VecNormalize).
        normalize_reward: normalise rewards by a running return scale (VecNormalize).
        net_arch: hidden layer sizes of the policy and value networks.
        algo_kwargs: further keyword arguments of the algorithm (``learning_rate``,
            ``n_steps``, ``batch_size``, ``gamma``, ``ent_coef``, ...).
        eval_freq: evaluate against MC-SF every this many environment steps (0: never).
        eval_seeds: held-out scenario seeds of the periodic evaluation (never trained on:
            training environments draw from ``seed``'s stream).
        checkpoint_freq: save a checkpoint every this many environment steps (0: never).
        device: torch device.
        progress_bar: show a progress bar.
    """

    algo: str = "maskable-ppo"
    env_id: str = "mcsf_gym/KVCacheScheduling-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 2
    vec_env: str = "subproc"
    total_timesteps: int = 200_000
    seed: int = 0
    out: str = "runs/default"
    normalize_obs: bool = True
    normalize_reward: bool = True
    net_arch: tuple[int, ...] = (128, 128)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_freq: int = 20_000
    eval_seeds: tuple[int, ...] = tuple(range(10_000, 10_016))
    checkpoint_freq: int = 50_000
    device: str = "cpu"
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algo {self.algo!r}; known: {', '.join(ALGORITHMS)}")
        if self.vec_env not in VEC_ENVS:
            raise ValueError(f"vec_env must be one of {VEC_ENVS}, got {self.vec_env!r}")
        for name in ("n_envs", "total_timesteps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("eval_freq", "checkpoint_freq"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if not self.net_arch or any(int(width) < 1 for width in self.net_arch):
            raise ValueError(f"net_arch must list positive layer sizes, got {self.net_arch!r}")
        if self.eval_freq and not self.eval_seeds:
            raise ValueError("eval_seeds must not be empty when eval_freq > 0")
        object.__setattr__(self, "net_arch", tuple(int(w) for w in self.net_arch))
        object.__setattr__(self, "eval_seeds", tuple(int(s) for s in self.eval_seeds))

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a TOML file (top-level keys are the fields), then apply ``overrides``.

        Raises:
            ValueError: for a missing file, invalid TOML or an unknown key.
        """
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no such config file: {path}")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: invalid TOML: {error}") from error
        return cls.from_dict({**data, **overrides}, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from plain values (as read from TOML or the saved JSON).

        Raises:
            ValueError: for an unknown key.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        values = dict(data)
        for name in ("net_arch", "eval_seeds"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)
