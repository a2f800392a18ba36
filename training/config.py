"""The training configuration: one frozen dataclass, read from TOML, saved as JSON with a run."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: Algorithms by name, and the action modes each one can train.
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "maskable-ppo": ("admit",),  # sb3-contrib MaskablePPO: discrete actions with masks
    "ppo": ("admit", "priority"),  # stable-baselines3 PPO (admit: invalid actions = advance)
    "a2c": ("admit", "priority"),  # stable-baselines3 A2C
}
#: Environment ids and the action mode each one fixes.
ENV_MODES = {
    "mcsf_gym/KVCacheScheduling-v0": "admit",
    "mcsf_gym/KVCacheSchedulingPriority-v0": "priority",
}
VEC_ENVS = ("subproc", "dummy")
#: When the policy may close admission (kept equal to ``agents.learned.ADVANCE_RULES``).
ADVANCE_RULES = ("free", "idle", "greedy")
#: Policy networks: SB3's MLP, or the whole-queue deep-set scorer (``training.policies``).
POLICIES = ("mlp", "slot-set")
#: Model selection keys (``training.evaluate.summarize_scores``).
SELECT_ON = ("ratio_to_mcsf", "mean_ratio")
#: Environment settings a suite task fixes (they may not be given with ``suite``).
TASK_FIXED = ("workload", "memory", "time_model", "prediction")


def _fail(name: str, value: Any, expected: str) -> None:
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(name, value, f"an integer >= {minimum}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (the TOML file's top-level keys).

    Args:
        algo: ``"maskable-ppo"`` (admit mode, with action masks), ``"ppo"`` or ``"a2c"``.
        env_id: ``"mcsf_gym/KVCacheScheduling-v0"`` (admit) or
            ``"mcsf_gym/KVCacheSchedulingPriority-v0"`` (priority).
        env_kwargs: keyword arguments of ``gymnasium.make`` (``workload``, ``window``,
            ``masking``, ``observation``, ``eviction``, ...); saved with the model, so the
            agent adapter rebuilds the same observations. ``workload`` may list several
            specs: each episode then draws from one of them, chosen uniformly.
        n_envs: parallel training environments.
        vec_env: ``"subproc"`` (one process per environment) or ``"dummy"`` (in-process).
        total_timesteps: training budget in environment steps (over all environments).
        seed: seed of the model and of the training environments (environment ``i`` is
            seeded ``seed + i``; its later episodes continue that stream).
        out: output folder (model, checkpoints, TensorBoard logs, config).
        advance_rule: when the policy may close admission
            (:func:`agents.learned.restrict_advance`): ``"free"`` (the environment's mask,
            which is work-conserving unless ``env_kwargs.allow_idle`` is true), ``"idle"``
            (not while the worker idles and a request could be admitted) or
            ``"greedy"`` (not while any shown request could be admitted: the policy picks the
            order). The saved agent applies the same rule.
        normalize_obs: normalise observations with running statistics (VecNormalize).
        normalize_reward: scale rewards by a running estimate of the return's spread.
        net_arch: hidden layer sizes of the policy and value networks (``policy = "mlp"``;
            for ``"slot-set"`` its first entry is the embedding width).
        policy: ``"mlp"`` (SB3's MLP on the flat observation) or ``"slot-set"``
            (``training.policies.SlotScoringPolicy``: a deep-set encoder that scores every
            shown request; admit mode, flat observation, ``normalize_obs = false``).
        slot_positional: ``"slot-set"``: give each slot its rank in the window as an input.
        slot_pool: ``"slot-set"``: ``"mean"`` or ``"mean-max"`` pooling of the slots.
        algo_kwargs: further keyword arguments of the algorithm (``learning_rate``,
            ``n_steps``, ``batch_size``, ``gamma``, ``ent_coef``, ...).
        eval_freq: evaluate against MC-SF every this many environment steps (0: never).
        eval_seeds: held-out scenario seeds of the periodic evaluation. Training episodes
            never use them: they follow the streams of ``seed + i``.
        checkpoint_freq: save a checkpoint every this many environment steps (0: never).
        device: torch device (``"cpu"``, ``"cuda"``, ``"auto"``).
        torch_threads: torch CPU threads (small networks train fastest with 1).
        progress_bar: show a progress bar (needs ``tqdm`` and ``rich``).
        suite: train on a benchmark suite's tasks (``"core-v1"``; ``training.suite_tasks``):
            episodes come from the tasks' training streams (workload, memory, time model and
            predictions of the task; ``env_kwargs`` then may not set those), rewards are
            scaled per task, and the periodic evaluation plays the tasks' validation seeds
            instead of ``eval_seeds``. Empty: train on ``env_kwargs.workload``.
        tasks: the suite's tasks to train on (empty: all of them).
        valid_per_task: validation seeds per task in each periodic evaluation (``suite``).
        imitate: start from a clone of a registered heuristic (``training.imitation``): an
            agent name, or with ``suite`` a table from task name to agent name (``"*"``: the
            other tasks); admit mode, ``normalize_obs = false``. ``""``: no clone.
        imitation_steps: the heuristic's decisions the clone is fitted to.
        imitation_epochs: passes over them.
        imitation_balance: weigh the decisions so that every task counts alike in the clone
            (a task whose episodes take more decisions would otherwise dominate it).
        select_on: what ``best_model.zip`` minimises: ``"ratio_to_mcsf"`` (mean latency over
            MC-SF's) or ``"mean_ratio"`` (mean of per-scenario ratios: every scenario weighs
            alike, which suits tasks of different latency scales).
    """

    algo: str = "maskable-ppo"
    env_id: str = "mcsf_gym/KVCacheScheduling-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 2
    vec_env: str = "dummy"
    total_timesteps: int = 200_000
    seed: int = 0
    out: str = "runs/default"
    advance_rule: str = "idle"
    normalize_obs: bool = True
    normalize_reward: bool = True
    net_arch: tuple[int, ...] = (128, 128)
    policy: str = "mlp"
    slot_positional: bool = False
    slot_pool: str = "mean"
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_freq: int = 20_000
    eval_seeds: tuple[int, ...] = tuple(range(10_000, 10_016))
    checkpoint_freq: int = 50_000
    device: str = "cpu"
    torch_threads: int = 1
    progress_bar: bool = True
    suite: str = ""
    tasks: tuple[str, ...] = ()
    valid_per_task: int = 4
    select_on: str = "ratio_to_mcsf"
    imitate: str | dict[str, str] = ""
    imitation_steps: int = 50_000
    imitation_epochs: int = 5
    imitation_balance: bool = False

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            _fail("algo", self.algo, f"one of {', '.join(ALGORITHMS)}")
        if self.env_id not in ENV_MODES:
            _fail("env_id", self.env_id, f"one of {', '.join(ENV_MODES)}")
        mode = self.env_kwargs.get("action", ENV_MODES[self.env_id])
        if mode not in ALGORITHMS[self.algo]:
            raise ValueError(
                f"algo {self.algo!r} cannot train the {mode!r} action mode of {self.env_id}; "
                f"it handles: {', '.join(ALGORITHMS[self.algo])}"
            )
        if self.advance_rule not in ADVANCE_RULES:
            _fail("advance_rule", self.advance_rule, f"one of {', '.join(ADVANCE_RULES)}")
        if self.policy not in POLICIES:
            _fail("policy", self.policy, f"one of {', '.join(POLICIES)}")
        if self.policy == "slot-set":
            observation = str(self.env_kwargs.get("observation", "flat"))
            if self.algo != "maskable-ppo" or not observation.startswith("flat"):
                _fail(
                    "policy",
                    self.policy,
                    "'mlp' unless algo is maskable-ppo with flat observations",
                )
            from training.policies import POOLS

            if self.slot_pool not in POOLS:
                _fail("slot_pool", self.slot_pool, f"one of {', '.join(POOLS)}")
            if not isinstance(self.slot_positional, bool):
                _fail("slot_positional", self.slot_positional, "true or false")
            if self.normalize_obs:
                raise ValueError(
                    "policy 'slot-set' needs normalize_obs = false (per-slot statistics would "
                    "make the slots unlike one another; the observations are already in [0, 1])"
                )
        if self.vec_env not in VEC_ENVS:
            _fail("vec_env", self.vec_env, f"one of {', '.join(VEC_ENVS)}")
        for name in ("n_envs", "total_timesteps", "torch_threads"):
            _check_int(name, getattr(self, name), 1)
        for name in ("eval_freq", "checkpoint_freq", "seed"):
            _check_int(name, getattr(self, name), 0)
        if not isinstance(self.env_kwargs, dict):
            _fail("env_kwargs", self.env_kwargs, "a table of gymnasium.make arguments")
        from mcsf_gym.env.config import ENV_KEYWORDS, check_keywords

        check_keywords(self.env_kwargs, ENV_KEYWORDS, "env_kwargs key")
        if not isinstance(self.algo_kwargs, dict):
            _fail("algo_kwargs", self.algo_kwargs, "a table of algorithm arguments")
        arch = tuple(self.net_arch)
        if not arch or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in arch):
            _fail("net_arch", self.net_arch, "a non-empty list of positive layer sizes")
        object.__setattr__(self, "net_arch", arch)
        seeds = tuple(self.eval_seeds)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
            _fail("eval_seeds", self.eval_seeds, "a list of integers >= 0")
        if self.eval_freq and not seeds:
            _fail("eval_seeds", self.eval_seeds, "non-empty when eval_freq > 0")
        object.__setattr__(self, "eval_seeds", seeds)
        if not isinstance(self.out, str) or not self.out:
            _fail("out", self.out, "a folder path")
        if self.select_on not in SELECT_ON:
            _fail("select_on", self.select_on, f"one of {', '.join(SELECT_ON)}")
        _check_int("valid_per_task", self.valid_per_task, 1)
        for name in ("imitation_steps", "imitation_epochs"):
            _check_int(name, getattr(self, name), 1)
        if not isinstance(self.imitation_balance, bool):
            _fail("imitation_balance", self.imitation_balance, "true or false")
        self._check_suite()
        if self.imitate:
            from training.imitation import check_imitate

            if self.algo != "maskable-ppo" or self.action_mode != "admit" or self.normalize_obs:
                _fail(
                    "imitate",
                    self.imitate,
                    "'' unless algo is maskable-ppo (admit mode) with normalize_obs = false",
                )
            names = [task.name for task in self._suite_tasks()] if self.suite else None
            check_imitate(self.imitate, names)

    def _check_suite(self) -> None:
        """Refuse task settings without a suite, or settings a suite task fixes."""
        if not isinstance(self.suite, str):
            _fail("suite", self.suite, "a suite name")
        tasks = tuple(self.tasks)
        if any(not isinstance(name, str) for name in tasks):
            _fail("tasks", self.tasks, "a list of task names")
        object.__setattr__(self, "tasks", tasks)
        if not self.suite:
            if tasks:
                _fail("tasks", list(tasks), "empty unless suite is set")
            return
        fixed = sorted(set(TASK_FIXED) & set(self.env_kwargs))
        if fixed:
            raise ValueError(
                f"env_kwargs may not set {fixed} with suite {self.suite!r}: the tasks fix them"
            )
        self._suite_tasks()  # unknown suite or task: the suite's own message

    def _suite_tasks(self) -> tuple[Any, ...]:
        """The suite tasks the run trains on."""
        from training.suite_tasks import suite_tasks

        return suite_tasks(self.suite, self.tasks)

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a TOML file (top-level keys are the fields), then apply ``overrides``.

        Raises:
            ValueError: for a missing file, invalid TOML, an unknown key or a bad value.
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
            ValueError: for an unknown key or a bad value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def action_mode(self) -> str:
        """``"admit"`` or ``"priority"``: the action mode of the environment."""
        return str(self.env_kwargs.get("action", ENV_MODES[self.env_id]))

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return asdict(self)
