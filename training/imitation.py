"""Behaviour cloning of heuristics as the starting point of MaskablePPO (``imitate = ...``).

``imitate`` names a registered agent (``"area-skip"``), or, for a suite run, a table from task
name to agent with ``"*"`` for the other tasks (``{"arxiv-long-v1" = "mcsf", "*" =
"area-skip"}``). A run first plays the teachers in its own training environments for
``imitation_steps`` decisions, then fits the policy to them (cross-entropy of the masked action
distribution, ``imitation_epochs`` passes), then trains with PPO as usual; the periodic
evaluation scores the clone before the first update, so selection keeps it when fine-tuning
does not improve on it.

How a heuristic plays in the admit-mode environment (:class:`TeacherReplay`): at every
boundary it plans its admissions exactly as under ``simulate`` (``agent.schedule(view)`` on
the environment's own view); each step admits the next planned request that the window shows
and the mask allows, and "advance" follows once the plan is used up. With a window that shows
the whole queue, the look-ahead mask and an advance rule that lets the policy stop (``"idle"``),
every reference heuristic built on the shared look-ahead check (MC-SF, area-skip, sorted-f,
gba, ...) replays its own schedule exactly (``tests/test_training_imitation.py`` checks the
latencies against ``simulate``). Where the plan cannot be followed (a planned request outside
the window, or "advance" forbidden by the rule while the plan is used up), the replay takes
the first allowed slot and counts the decision as *inexpressible*.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.learned import restrict_advance

#: The key of an ``imitate`` table that names the teacher of every task not listed.
OTHER_TASKS = "*"


def teacher_table(imitate: str | Mapping[str, str]) -> dict[str, str]:
    """``imitate`` as a table from task name (or ``"*"``) to agent name."""
    if isinstance(imitate, str):
        return {OTHER_TASKS: imitate}
    return dict(imitate)


def check_imitate(imitate: Any, task_names: list[str] | None) -> None:
    """Refuse an ``imitate`` value that is not an agent name or a table of them.

    Args:
        imitate: the config's value (non-empty).
        task_names: the run's suite tasks, or ``None`` for a run without a suite (then only
            a single agent name is allowed).

    Raises:
        ValueError: naming the field and the value.
    """
    from agents.registry import AGENTS, make_agent

    if isinstance(imitate, str) or (
        isinstance(imitate, Mapping) and task_names is not None and imitate
    ):
        table = teacher_table(imitate)
    else:
        expected = "an agent name" + ("" if task_names is None else " or a table {task: agent}")
        raise ValueError(f"imitate must be '' or {expected}, got {imitate!r}")
    for task, agent in table.items():
        if task != OTHER_TASKS and task not in (task_names or []):
            raise ValueError(
                f"imitate: {task!r} is not a task of this run; tasks: {', '.join(task_names or [])}"
                f" (or {OTHER_TASKS!r} for the others)"
            )
        if not isinstance(agent, str) or agent not in AGENTS.names():
            raise ValueError(
                f"imitate[{task!r}] must be a registered agent ({', '.join(AGENTS.names())}), "
                f"got {agent!r}"
            )
        try:
            make_agent(agent)
        except ValueError as error:
            raise ValueError(f"imitate[{task!r}] = {agent!r} cannot play: {error}") from None
    if task_names is not None and OTHER_TASKS not in table:
        missing = sorted(set(task_names) - set(table))
        if missing:
            raise ValueError(f"imitate names no teacher for {missing}; add {OTHER_TASKS!r} = AGENT")


class TeacherReplay:
    """A heuristic playing one admit-mode episode, one environment action at a time.

    Args:
        agent: a fresh agent (its state belongs to this episode).
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self._epoch = -1
        self._plan: list[int] = []
        #: Decisions where the plan could not be followed (see the module docstring).
        self.inexpressible = 0

    def action(self, boundary: Any, mask: np.ndarray) -> int:
        """The teacher's action at ``boundary`` under ``mask`` (slots, then "advance")."""
        if boundary.epoch != self._epoch:
            self._epoch = boundary.epoch
            self._plan = list(self.agent.schedule(boundary.view))
        slot_of = {request: slot for slot, request in enumerate(boundary.window())}
        while self._plan:
            slot = slot_of.get(self._plan.pop(0))
            if slot is not None and mask[slot]:
                return slot
            self.inexpressible += 1
        if mask[-1]:
            return len(mask) - 1
        self.inexpressible += 1
        return int(np.flatnonzero(mask[:-1])[0])


def collect(
    config: Any, steps: int
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, dict[str, dict[str, int]]]:
    """The teachers' decisions over ``steps`` environment steps.

    The environment is the run's own (same task stream, advance rule and settings), seeded
    ``config.seed + 10_000`` (a training stream: suite tasks draw training seeds only).

    Returns:
        ``(observations, masks, actions)``; the task of every decision (``""`` without a
        suite); and per teacher, its decisions and the inexpressible ones.
    """
    from agents.registry import make_agent
    from training.envs import EnvFactory

    table = teacher_table(config.imitate)
    # The teacher reads the engine's state: the Python backend (same episodes as the compiled).
    env_kwargs = {**config.env_kwargs, "backend": "python"}
    factory = EnvFactory(config.env_id, env_kwargs, "free", config.suite, config.tasks)
    env = factory()
    observations, masks, actions, labels = [], [], [], []
    counts: dict[str, dict[str, int]] = {}
    try:
        observation, info = env.reset(seed=config.seed + 10_000)
        while len(actions) < steps:
            task = str(info.get("task", ""))
            name = table.get(task, table.get(OTHER_TASKS, ""))
            replay = TeacherReplay(make_agent(name))
            tally = counts.setdefault(name, {"decisions": 0, "inexpressible": 0})
            done, played = False, 0
            while not done and len(actions) < steps:
                mask = restrict_advance(observation, info["action_mask"], config.advance_rule)
                action = replay.action(env.unwrapped.boundary, mask)
                observations.append(observation)
                masks.append(mask)
                actions.append(action)
                played += 1
                observation, _, terminated, truncated, info = env.step(action)
                done = terminated or truncated
            tally["decisions"] += played
            labels += [task] * played
            tally["inexpressible"] += replay.inexpressible
            if done:
                observation, info = env.reset()
    finally:
        env.close()
    data = (np.array(observations, np.float32), np.array(masks, bool), np.array(actions))
    return data, np.array(labels), counts


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Per-decision weights that give every label (task) the same total weight, mean 1.

    Episodes of some tasks take ten times more decisions than others; unweighted, the clone
    would fit those tasks' teachers and neglect the rest.
    """
    names, index, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    return (len(labels) / (len(names) * sizes))[index]


def clone(
    model: Any,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> list[float]:
    """Fit ``model``'s policy to the teacher's actions; the mean loss of every epoch.

    ``weights`` (one per decision, e.g. :func:`balanced_weights`) weigh the cross-entropy.
    """
    import torch

    observations, masks, actions = data
    weight = torch.as_tensor(
        np.ones(len(actions)) if weights is None else weights, dtype=torch.float32
    )
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
            log_prob = distribution.log_prob(torch.as_tensor(actions[batch]))
            loss = -(log_prob * weight[batch]).sum() / weight[batch].sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(order))
    policy.set_training_mode(False)
    return losses


def matches(model: Any, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Per decision: whether the policy's deterministic action is the teacher's."""
    import torch

    observations, masks, actions = data
    policy = model.policy
    chosen = []
    with torch.no_grad():
        for start in range(0, len(actions), 4096):
            stop = start + 4096
            obs = torch.as_tensor(observations[start:stop])
            distribution = policy.get_distribution(obs, action_masks=masks[start:stop])
            chosen.append(distribution.get_actions(deterministic=True).numpy())
    return np.concatenate(chosen) == actions
