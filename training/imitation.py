"""Behaviour cloning of a heuristic as the starting point of MaskablePPO (``imitate = ...``).

A run with ``imitate = "area-skip"`` first plays the heuristic's choices in its own training
environments for ``imitation_steps`` decisions, then fits the policy to them (cross-entropy of
the masked action distribution, ``imitation_epochs`` passes), then trains with PPO as usual.
The heuristic's choice at a decision is the allowed window slot with the smallest score
(:data:`TEACHERS`), or "advance" when no slot is allowed; under the ``greedy`` advance rule and
the look-ahead mask, repeating that choice is the heuristic itself restricted to the window
(the heuristic walks its order and skips what does not fit; a request that does not fit stays
unfit while the round fills). The policy starts where the heuristic is, and PPO's selection on
validation seeds keeps the clone when fine-tuning does not improve on it (the clone is scored
before the first update).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agents.learned import restrict_advance


def _area(view: Any, ids: np.ndarray) -> np.ndarray:
    from agents.area_skip import doubled_area

    return doubled_area(view, ids).astype(float)


def _prediction(view: Any, ids: np.ndarray) -> np.ndarray:
    return np.asarray(view.predicted_length(ids), dtype=float)


#: Heuristics a policy can start from: the score of a waiting request (smallest first).
TEACHERS: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
    "area-skip": _area,
    "mcsf-skip": _prediction,
}


def teacher_action(env: Any, mask: np.ndarray, teacher: str) -> int:
    """The heuristic's action: the allowed slot of smallest score, else "advance" (last)."""
    allowed = np.flatnonzero(mask[:-1])
    if not allowed.size:
        return len(mask) - 1
    boundary = env.unwrapped.boundary
    ids = np.asarray(boundary.window(), dtype=np.int64)[allowed]
    scores = TEACHERS[teacher](boundary.view, ids)
    return int(allowed[int(np.argmin(scores))])


def collect(config: Any, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(observations, masks, actions)`` of the teacher over ``steps`` decisions.

    The environment is the run's own (same task stream, advance rule and settings), seeded
    ``config.seed + 10_000`` (a training stream: suite tasks draw training seeds only).
    """
    from training.envs import EnvFactory

    factory = EnvFactory(config.env_id, config.env_kwargs, "free", config.suite, config.tasks)
    env = factory()
    observations, masks, actions = [], [], []
    observation, info = env.reset(seed=config.seed + 10_000)
    try:
        while len(actions) < steps:
            mask = restrict_advance(observation, info["action_mask"], config.advance_rule)
            action = teacher_action(env, mask, config.imitate)
            observations.append(observation)
            masks.append(mask)
            actions.append(action)
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                observation, info = env.reset()
    finally:
        env.close()
    return np.array(observations, np.float32), np.array(masks, bool), np.array(actions)


def clone(
    model: Any,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Fit ``model``'s policy to the teacher's actions; the mean loss of every epoch."""
    import torch

    observations, masks, actions = data
    policy = model.policy
    policy.set_training_mode(True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(actions))
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            obs = torch.as_tensor(observations[batch])
            distribution = policy.get_distribution(obs, action_masks=masks[batch])
            loss = -distribution.log_prob(torch.as_tensor(actions[batch])).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(order))
    policy.set_training_mode(False)
    return losses


def agreement(model: Any, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """The share of decisions where the policy's deterministic action is the teacher's."""
    import torch

    observations, masks, actions = data
    policy = model.policy
    hits = 0
    with torch.no_grad():
        for start in range(0, len(actions), 4096):
            stop = start + 4096
            obs = torch.as_tensor(observations[start:stop])
            distribution = policy.get_distribution(obs, action_masks=masks[start:stop])
            chosen = distribution.get_actions(deterministic=True).numpy()
            hits += int((chosen == actions[start:stop]).sum())
    return hits / len(actions)
