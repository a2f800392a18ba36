"""MC-SF's admission check under an agent's own length estimates (A_min, GBA, GSA, WAIT).

Some rules plan with lengths other than the engine's (``view.predicted_length``): the lower
end of an interval, a prediction rounded up to a power of two, a length guessed without any
prediction. Only the lengths differ; the memory rule is the shared
:class:`~mcsf_gym.core.lookahead.AdmissionCheck`, fed with the predicted memory of the running
requests under those lengths (what each holds, ``s + produced``, growing by one token a round
until its estimated end). Estimates are never below the tokens produced + 1, as the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.lookahead import AdmissionCheck
from mcsf_gym.core.view import StateView


def running_profile(view: StateView, length: NDArray[np.int64]) -> NDArray[np.int64]:
    """Predicted memory of the running requests at the coming boundaries ``r + 1 .. r + H``.

    Args:
        view: the state at the round boundary.
        length: the estimated output length of every running request (``view.running``
            order); raised to the tokens produced + 1 where it is shorter.

    Returns:
        ``m[h - 1] = sum over running j with remaining_j >= h of (s_j + produced_j + h)``.
    """
    running = view.running
    if running.size == 0:
        return np.zeros(0, dtype=np.int64)
    produced = view.produced(running)
    remaining = np.maximum(np.asarray(length, dtype=np.int64) - produced, 1)
    base = view.prompt[running] + produced
    horizon = int(remaining.max())
    count = np.bincount(remaining, minlength=horizon + 1)[::-1].cumsum()[::-1]
    held = np.bincount(remaining, weights=base, minlength=horizon + 1)[::-1].cumsum()[::-1]
    steps = np.arange(1, horizon + 1)
    return (np.rint(held[1:]).astype(np.int64) + steps * count[1:]).astype(np.int64)


def estimate_check(view: StateView, length: NDArray[np.int64], alpha: float) -> AdmissionCheck:
    """The shared admission check against ``M (1 - alpha)`` under estimated running lengths."""
    return AdmissionCheck(running_profile(view, length), view.memory * (1.0 - alpha))


def walk(
    view: StateView,
    check: AdmissionCheck,
    candidates: Iterable[tuple[int, int, int]],
    *,
    skip: bool,
) -> list[int]:
    """Admit ``(id, prompt, length)`` candidates in order while they pass ``check``.

    With ``skip`` a candidate that does not fit is passed over (the walk ends once not even a
    one-token candidate fits), otherwise the walk stops at it. If nothing runs and nothing
    fits, the first candidate is admitted alone (it fits in ``M`` on its own).
    """
    admitted: list[int] = []
    first: int | None = None
    for request, prompt, length in candidates:
        if first is None:
            first = request
        if check.fits(prompt, length):
            check.add(prompt, length)
            admitted.append(request)
        elif not skip or not check.fits(1, 1):
            break
    if not admitted and not view.n_running and first is not None:
        return [first]
    return admitted


def clip_lengths(view: StateView, ids: NDArray[np.int64], length: NDArray) -> NDArray[np.int64]:
    """``length`` clipped to ``[1, M - s]`` (no servable request is longer)."""
    top = view.memory - view.prompt[ids]
    return np.clip(np.asarray(length, dtype=np.int64), 1, top)
