"""Action types: how an agent's action becomes admissions (HighwayEnv-style, chosen by name).

A new action type is a subclass of :class:`ActionType` registered in :data:`ACTIONS`; the
environment class does not change. Action types only choose requests (:meth:`Boundary.admit`)
and say when admission is closed; whoever drives the episode then runs the round (the
environment, :mod:`mcsf_gym.env.stepping`) or hands the admissions to ``simulate``
(:class:`~mcsf_gym.env.policy.PolicyScheduler`). The engine applies the rules.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from mcsf_gym.env.boundary import Boundary
from mcsf_gym.registry import Registry


@dataclass(frozen=True)
class Decision:
    """What one action did at the boundary.

    Attributes:
        advance: admission is closed: the round runs with the pending requests.
        invalid: the action was not allowed and was treated as "advance".
    """

    advance: bool
    invalid: bool


#: A request was admitted; admission goes on.
ADMITTED = Decision(advance=False, invalid=False)
#: Admission is closed: the round runs.
ADVANCE = Decision(advance=True, invalid=False)
#: The action was not allowed: treated as "advance".
INVALID = Decision(advance=True, invalid=True)
#: The action was not allowed and "advance" would idle the worker: slot 0 was admitted.
INVALID_ADMITTED = Decision(advance=False, invalid=True)


class ActionType(ABC):
    """Turns an action into admissions for the coming round.

    Args:
        window: the number of window slots ``K``.
    """

    def __init__(self, window: int) -> None:
        self.window = window

    @abstractmethod
    def space(self) -> spaces.Space:
        """The action space."""

    @abstractmethod
    def masks(self, boundary: Boundary) -> NDArray[np.bool_]:
        """Which actions are allowed now (a fresh array)."""

    @abstractmethod
    def apply(self, action: Any, boundary: Boundary) -> Decision:
        """Carry out ``action``: admit into ``boundary``, and say whether admission is closed.

        Raises:
            ValueError: if ``action`` is not of the space's kind (a non-integer, a wrong shape).
        """


class AdmitAction(ActionType):
    """``Discrete(K + 1)``: admit window slot ``k < K``, or ``K`` to close admission and run.

    Admitting makes the request *pending*: it runs in the coming round, which starts when the
    agent takes action ``K`` ("advance"). An action whose slot is empty or not allowed by the
    mask (and any integer outside ``0..K``) is treated as "advance" and flagged invalid.
    Work-conserving (``allow_idle=False``, :meth:`Boundary.must_admit`): while closing
    admission would idle the worker, "advance" is masked, and "advance" or an invalid action
    admits slot 0 instead (MC-SF's choice; flagged invalid).
    """

    def space(self) -> spaces.Discrete:
        """``Discrete(K + 1)``."""
        return spaces.Discrete(self.window + 1)

    def masks(self, boundary: Boundary) -> NDArray[np.bool_]:
        """``K + 1`` booleans: the slot masks, then ``True`` for "advance"."""
        valid = boundary.slot_valid()
        mask = np.zeros(self.window + 1, dtype=np.bool_)
        mask[: len(valid)] = valid
        mask[self.window] = not boundary.must_admit()
        return mask

    def parse(self, action: Any) -> int:
        """The slot an action names: any integer (outside ``0..K`` it is invalid).

        Raises:
            ValueError: for an action that is not an integer.
        """
        try:
            return operator.index(action)
        except TypeError:
            raise ValueError(
                f"action must be an integer in 0..{self.window}, got {action!r}"
            ) from None

    def apply(self, action: Any, boundary: Boundary) -> Decision:
        """Admit the chosen slot, or close admission."""
        slot = self.parse(action)
        valid = boundary.slot_valid()
        if 0 <= slot < len(valid) and valid[slot]:
            boundary.admit(boundary.window()[slot])
            return ADMITTED
        if boundary.must_admit():
            boundary.admit(boundary.window()[0])
            return INVALID_ADMITTED
        return ADVANCE if slot == self.window else INVALID


class PriorityAction(ActionType):
    """``Box(-1, 1, (K,))``: one score per window slot; one step runs one round.

    Slots with a negative (or NaN) score are held back. The others are taken in descending
    score order (ties by slot) and admitted while the masking rule allows the next one; the
    first that is not allowed stops admission (MC-SF's rule). Then the round runs. With
    ``masking="none"`` exactly the non-negative slots are admitted, in score order.
    Work-conserving (``allow_idle=False``): while nothing runs and nothing is chosen, a step
    that would admit nothing admits the best-scored slot (the first of the ties; slot 0 if
    every score is NaN).
    """

    def space(self) -> spaces.Box:
        """``Box(-1, 1, (K,), float32)``."""
        return spaces.Box(-1.0, 1.0, shape=(self.window,), dtype=np.float32)

    def masks(self, boundary: Boundary) -> NDArray[np.bool_]:
        """``K`` booleans: which slots the masking rule would allow first."""
        valid = boundary.slot_valid()
        mask = np.zeros(self.window, dtype=np.bool_)
        mask[: len(valid)] = valid
        return mask

    def parse(self, action: Any) -> NDArray[np.float64]:
        """The ``K`` scores of an action, as floats.

        Raises:
            ValueError: for an action of another shape.
        """
        scores = np.asarray(action, dtype=np.float64)
        if scores.shape != (self.window,):
            raise ValueError(f"action must hold {self.window} scores, got shape {scores.shape}")
        return scores

    def apply(self, action: Any, boundary: Boundary) -> Decision:
        """Admit by score while allowed, then close admission."""
        scores = self.parse(action)
        window = boundary.window()
        occupied = scores[: len(window)]
        chosen = np.flatnonzero(occupied >= 0)
        chosen = chosen[np.argsort(-occupied[chosen], kind="stable")]
        for request in [window[slot] for slot in chosen.tolist()]:
            if not boundary.is_valid(request):
                break
            boundary.admit(request)
        if boundary.must_admit():
            best = np.nan_to_num(occupied, nan=-np.inf)
            boundary.admit(window[int(np.argmax(best))])
        return ADVANCE


#: Action types by name: ``"admit"`` (discrete, default) and ``"priority"`` (continuous).
ACTIONS: Registry[ActionType] = Registry("action type")
ACTIONS.register("admit", AdmitAction)
ACTIONS.register("priority", PriorityAction)
