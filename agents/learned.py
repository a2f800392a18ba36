"""Trained stable-baselines3 models as agents: ``"ppo:PATH"`` and ``"maskable-ppo:PATH"``.

A model folder (as written by ``mcsf-train``, or shipped under ``models/``) holds::

    model.zip          the SB3 / sb3-contrib model
    config.json        the training configuration: env_id, env_kwargs (window, order, masking,
                       action, observation, eviction, ...), algo
    vecnormalize.pkl   VecNormalize statistics, if the run normalised observations

``PATH`` is the folder or a ``.zip`` in it (``best_model.zip`` pairs with
``best_model_vecnormalize.pkl``; SB3 checkpoints ``model_N_steps.zip`` with
``model_vecnormalize_N_steps.pkl``, and find ``config.json`` one folder up). The agent is a
:class:`~mcsf_gym.env.policy.PolicyScheduler`: at each round boundary it builds the
environment's own observation and mask from the state view, normalises the observation with
the saved statistics and asks the model, so it runs under ``simulate``, ``agents.run_agent``
and every evaluation tool. Its ``default_eviction`` is the training environment's. Actions
are the model's most likely ones (deterministic). torch and SB3 load only when a model does.

A model trained in your own script becomes such a folder with :func:`save_model`
(``save_model(model, "runs/mine", env)``); ``training.evaluate.evaluate_against_mcsf`` then
compares it with MC-SF in one call.
"""

from __future__ import annotations

import json
import pickle
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mcsf_gym.env.observations import GLOBAL_FEATURES

CONFIG_FILE = "config.json"
MODEL_FILE = "model.zip"
NORMALIZER_FILE = "vecnormalize.pkl"
#: How a policy may close admission (see :func:`restrict_advance`).
ADVANCE_RULES = ("free", "idle", "greedy")
_PENDING = GLOBAL_FEATURES.index("pending")
_RUNNING = GLOBAL_FEATURES.index("running")
_CHECKPOINT = re.compile(r"^(?P<prefix>.+)_(?P<steps>\d+)_steps$")


SHIPPED_MODEL_ROOTS = (Path(__file__).resolve().parents[1], Path(sys.prefix) / "share" / "mcsf-gym")
"""Where a relative ``models/NAME`` is also looked for: the repository checkout, then the
folder ``pip install`` puts the shipped models in (``<sys.prefix>/share/mcsf-gym/models/``)."""


def resolve_model_path(path: str | Path) -> Path:
    """The model ``.zip`` that ``path`` names (a folder means its ``model.zip``).

    A relative path is read from the working directory first, then from
    :data:`SHIPPED_MODEL_ROOTS`, so ``"models/mixed-prompt"`` works from anywhere.

    Raises:
        ValueError: if there is no such file.
    """
    given = Path(path)
    bases = [Path()] if given.is_absolute() else [Path(), *SHIPPED_MODEL_ROOTS]
    tried = []
    for base in bases:
        candidate = base / given
        if candidate.is_dir():
            candidate = candidate / MODEL_FILE
        elif not candidate.is_file() and candidate.suffix != ".zip":
            candidate = candidate.with_name(candidate.name + ".zip")
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise ValueError(f"no trained model at {str(path)!r} (looked for {', '.join(tried)})")


def normalizer_path_for(model: str | Path) -> Path:
    """Where the VecNormalize statistics of a model file live (they may not exist).

    ``model.zip`` -> ``vecnormalize.pkl``; ``NAME_N_steps.zip`` (an SB3 checkpoint) ->
    ``NAME_vecnormalize_N_steps.pkl``; any other ``NAME.zip`` -> ``NAME_vecnormalize.pkl``.
    """
    model = Path(model)
    stem = model.name.removesuffix(".zip")
    if stem == "model":
        return model.with_name(NORMALIZER_FILE)
    match = _CHECKPOINT.match(stem)
    if match:
        return model.with_name(f"{match['prefix']}_vecnormalize_{match['steps']}_steps.pkl")
    return model.with_name(f"{stem}_vecnormalize.pkl")


def read_run_config(model: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a model: beside it, or one folder up (checkpoints).

    Raises:
        ValueError: if there is none or it lacks ``env_id`` / ``env_kwargs``.
    """
    model = Path(model)
    for folder in (model.parent, model.parent.parent):
        path = folder / CONFIG_FILE
        if path.is_file():
            try:
                config = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: invalid JSON ({error})") from error
            missing = [key for key in ("env_id", "env_kwargs", "algo") if key not in config]
            if missing:
                raise ValueError(f"{path}: missing key(s) {missing}")
            return config
    raise ValueError(
        f"no {CONFIG_FILE} beside {model} (needed to rebuild the observation it was trained on)"
    )


def worker_idle(observation: Any) -> bool:
    """Whether nothing runs and nothing is chosen for the coming round (raw observation)."""
    values = observation["global"] if isinstance(observation, dict) else observation
    return bool(values[_PENDING] == 0 and values[_RUNNING] == 0)


def restrict_advance(observation: Any, mask: np.ndarray, rule: str) -> np.ndarray:
    """Admit mode: the mask without "advance" (the last action) where ``rule`` forbids it.

    Rules (:data:`ADVANCE_RULES`): ``"free"``: never forbidden (the environment's own mask);
    ``"idle"``: forbidden while the worker idles (nothing runs, nothing chosen) and a slot is
    allowed: an idle worker gains nothing by waiting, every reference agent admits then, and
    it keeps a policy from idling for ever; ``"greedy"``: forbidden while any slot is allowed,
    so the policy only chooses the order of admissions (it admits until nothing else fits,
    like MC-SF, which walks in a fixed order).
    """
    if rule == "free" or not mask[:-1].any() or (rule == "idle" and not worker_idle(observation)):
        return mask
    mask = mask.copy()
    mask[-1] = False
    return mask


def restrict_scores(observation: Any, scores: Any, mask: np.ndarray, rule: str) -> np.ndarray:
    """Priority mode: scores changed so that ``rule`` holds (see :func:`restrict_advance`).

    ``"idle"``: while the worker idles and every allowed slot scores below 0, the best allowed
    slot is raised to 0 (admitted). ``"greedy"``: scores are mapped from [-1, 1] onto [0, 1]
    (same order), so slots are admitted in score order while allowed.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if rule == "greedy":
        return (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
    allowed = np.flatnonzero(mask)
    if rule != "idle" or not allowed.size or (scores[allowed] >= 0).any():
        return scores
    if worker_idle(observation):
        scores = scores.copy()
        scores[allowed[np.argmax(scores[allowed])]] = 0.0
    return scores


class ModelPolicy:
    """``policy(observation, mask) -> action`` from an SB3 model and its normaliser.

    Args:
        model: a loaded SB3 / sb3-contrib model.
        normalizer: a VecNormalize whose observation statistics are applied, or ``None``.
        masked: pass the action mask to ``predict`` (MaskablePPO).
        advance_rule: the rule the model was trained under (:func:`restrict_advance`).
    """

    def __init__(
        self,
        model: Any,
        normalizer: Any = None,
        masked: bool = False,
        advance_rule: str = "free",
    ) -> None:
        if advance_rule not in ADVANCE_RULES:
            raise ValueError(f"advance_rule must be one of {ADVANCE_RULES}, got {advance_rule!r}")
        self.model = model
        self.normalizer = normalizer if normalizer is not None and normalizer.norm_obs else None
        self.masked = masked
        self.advance_rule = advance_rule

    def __call__(self, observation: Any, mask: np.ndarray) -> Any:
        """The model's most likely action for ``observation`` (with ``mask`` if masked)."""
        raw = observation
        if self.normalizer is not None:
            observation = self.normalizer.normalize_obs(observation)
        if not self.masked:
            action, _ = self.model.predict(observation, deterministic=True)
            if np.ndim(action) > 0:
                return restrict_scores(raw, action, mask, self.advance_rule)
            return int(action)
        mask = restrict_advance(raw, mask, self.advance_rule)
        if isinstance(observation, np.ndarray):
            return self._masked_mode(observation, mask)
        action, _ = self.model.predict(observation, deterministic=True, action_masks=mask)
        return int(action)

    def _masked_mode(self, observation: np.ndarray, mask: np.ndarray) -> int:
        """MaskablePPO's deterministic action for a flat observation, without ``predict``.

        The same operations as sb3-contrib's ``MaskableCategorical`` mode (masked logits set to
        -1e8, normalised, softmax, argmax), so the same action; it skips the per-call
        training-mode switch and distribution objects, which cost most of ``predict``'s time
        for small networks.
        """
        import torch

        policy = self.model.policy
        if policy.training:
            policy.set_training_mode(False)
        with torch.no_grad():
            obs = torch.as_tensor(observation, dtype=torch.float32).reshape(1, -1)
            features = policy.extract_features(obs, policy.pi_features_extractor)
            logits = policy.action_net(policy.mlp_extractor.forward_actor(features))
            allowed = torch.as_tensor(mask, dtype=torch.bool).reshape(logits.shape)
            logits = torch.where(allowed, logits, torch.tensor(-1e8, dtype=logits.dtype))
            logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            return int(torch.softmax(logits, dim=-1).argmax(dim=-1)[0])

    def __repr__(self) -> str:
        return f"ModelPolicy({type(self.model).__name__}, advance_rule={self.advance_rule!r})"


def _load_normalizer(path: Path) -> Any:
    """VecNormalize statistics as saved by SB3 (a pickle), frozen; ``None`` if absent.

    Raises:
        ValueError: if the file is damaged or holds something other than VecNormalize
            statistics.
    """
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            normalizer = pickle.load(handle)
    except Exception as error:  # a damaged pickle raises many kinds
        raise ValueError(
            f"{path}: damaged VecNormalize statistics ({type(error).__name__}: {error}); "
            "delete it only if the model was trained without normalisation"
        ) from None
    if not hasattr(normalizer, "normalize_obs") or not hasattr(normalizer, "norm_obs"):
        raise ValueError(f"{path}: not VecNormalize statistics (holds {type(normalizer).__name__})")
    normalizer.training = False
    return normalizer


def _check_normalizer(normalizer: Any, space: Any, path: Path) -> None:
    """Refuse VecNormalize statistics whose observation shapes are not ``space``'s.

    Raises:
        ValueError: naming both shapes.
    """
    if normalizer is None or not normalizer.norm_obs:
        return
    stats = normalizer.obs_rms
    if isinstance(stats, dict):
        got = {key: tuple(rms.mean.shape) for key, rms in stats.items()}
        want = {key: tuple(space[key].shape) for key in stats if key in space.spaces}
        if got != want:
            raise ValueError(
                f"{path}: VecNormalize statistics for observation shapes {got} do not match "
                f"the model's {want}: was it saved by another run?"
            )
        return
    got_shape = tuple(stats.mean.shape)
    if got_shape != tuple(space.shape or ()):
        raise ValueError(
            f"{path}: VecNormalize statistics for observation shape {got_shape} do not match "
            f"the model's {tuple(space.shape or ())}: was it saved by another run?"
        )


def load_learned(path: str | Path, algo: str) -> Any:
    """A trained model as a scheduler (see the module docstring).

    Args:
        path: a model folder or ``.zip``.
        algo: ``"ppo"`` or ``"maskable-ppo"``: the class to load it with.

    Returns:
        A :class:`~mcsf_gym.env.policy.PolicyScheduler` driving the model.

    Raises:
        ValueError: one line, for a missing file or config, a model saved by another
            algorithm, one whose observation or action space differs from the saved
            environment settings, or damaged or mismatched VecNormalize statistics.
        ImportError: if stable-baselines3 / sb3-contrib are missing.
    """
    from mcsf_gym.env.policy import PolicyScheduler

    model_path = resolve_model_path(path)
    config = read_run_config(model_path)
    if config["algo"] != algo:
        raise ValueError(
            f"{model_path} was trained with algo {config['algo']!r}: load it as "
            f"'{config['algo']}:{path}'"
        )
    try:
        if algo == "maskable-ppo":
            from sb3_contrib import MaskablePPO as Algorithm
        else:
            from stable_baselines3 import PPO as Algorithm
    except ImportError as error:
        raise ImportError(
            f"loading a {algo} model needs stable-baselines3 and sb3-contrib: "
            "pip install 'mcsf-gym[train]'"
        ) from error
    try:
        model = Algorithm.load(model_path, device="cpu")
    except Exception as error:  # SB3 raises many kinds for a file it cannot read
        raise ValueError(f"cannot load {model_path} as a {algo} model ({error})") from error
    normalizer_path = normalizer_path_for(model_path)
    normalizer = _load_normalizer(normalizer_path)
    _check_normalizer(normalizer, model.observation_space, normalizer_path)
    scheduler = PolicyScheduler(
        ModelPolicy(
            model,
            normalizer,
            masked=algo == "maskable-ppo",
            advance_rule=config.get("advance_rule", "free"),
        ),
        config["env_kwargs"],
        env_id=config["env_id"],
    )
    try:
        scheduler.check_spaces(model.observation_space, model.action_space)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error}") from None
    return scheduler


def load_ppo(path: str | Path) -> Any:
    """A stable-baselines3 PPO model as a scheduler (``make_agent("ppo:PATH")``)."""
    return load_learned(path, "ppo")


def load_maskable_ppo(path: str | Path) -> Any:
    """An sb3-contrib MaskablePPO model as a scheduler (``make_agent("maskable-ppo:PATH")``)."""
    return load_learned(path, "maskable-ppo")


#: Model classes that :func:`save_model` knows, by class name, with their agent prefix.
_ALGOS = {"MaskablePPO": "maskable-ppo", "PPO": "ppo"}


def _env_spec(env: Any) -> Any:
    """The Gymnasium ``EnvSpec`` of an environment or of the first one of a VecEnv."""
    venv = env
    while hasattr(venv, "venv"):  # VecNormalize and other VecEnv wrappers
        venv = venv.venv
    if hasattr(venv, "get_attr"):
        return venv.get_attr("spec", [0])[0]
    return getattr(env, "spec", None)


def save_model(
    model: Any,
    folder: str | Path,
    env: Any = None,
    *,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> Path:
    """Save a model trained in your own script as an agent folder (no hand-written config).

    Writes ``model.zip``, ``config.json`` (algorithm, environment id and keyword arguments,
    package version) and, when the model was trained under ``VecNormalize``,
    ``vecnormalize.pkl``. The folder then loads with ``agents.make_agent("maskable-ppo:FOLDER")``
    (or ``"ppo:FOLDER"``) and evaluates with ``training.evaluate.evaluate_against_mcsf``.

    Args:
        model: a trained sb3-contrib ``MaskablePPO`` or stable-baselines3 ``PPO`` model.
        folder: the output folder (created if missing).
        env: the environment it trained on (a ``gym.make`` environment or a VecEnv made from
            an id, e.g. by ``make_vec_env``): its id and keyword arguments are read from its
            spec. Defaults to ``model.get_env()``.
        env_id: the id, if it cannot be read from ``env``.
        env_kwargs: the keyword arguments of ``gym.make``, if they cannot be read from
            ``env`` (they must be JSON values: workload specs, not objects).

    Returns:
        The path of ``model.zip``.

    Raises:
        ValueError: for a model of another class, an environment without a spec, or
            keyword arguments that JSON cannot hold.
    """
    import mcsf_gym

    algo = _ALGOS.get(type(model).__name__)
    if algo is None:
        raise ValueError(f"model must be a MaskablePPO or PPO model, got {type(model).__name__}")
    env = model.get_env() if env is None else env
    spec = _env_spec(env) if env is not None else None
    if env_id is None:
        env_id = getattr(spec, "id", None)
    if env_kwargs is None:
        env_kwargs = dict(getattr(spec, "kwargs", None) or {})
        env_kwargs.pop("action", None)  # fixed by the id
        env_kwargs.pop("render_mode", None)
    if env_id is None:
        raise ValueError("env has no Gymnasium spec: pass env_id= (and env_kwargs=)")
    document = {
        "mcsf_gym_version": mcsf_gym.__version__,
        "algo": algo,
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "advance_rule": "free",
        "saved_by": "agents.learned.save_model",
    }
    try:
        text = json.dumps(document, indent=2)
    except TypeError as error:
        raise ValueError(
            f"env_kwargs {env_kwargs!r} cannot be saved as JSON ({error}): pass env_kwargs= "
            "with workload specs instead of objects"
        ) from None
    from mcsf_gym.env.policy import env_config

    env_config(env_kwargs, env_id)  # the folder must load: refuse settings gym.make refuses
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    model.save(path)
    (out / CONFIG_FILE).write_text(text + "\n")
    normalizer = model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.save(str(out / NORMALIZER_FILE))
    else:  # a stale file from an earlier save would be applied to this model
        (out / NORMALIZER_FILE).unlink(missing_ok=True)
    return path
