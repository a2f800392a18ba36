"""MC-SF's admission check answering a whole window of candidates at once (the env's fast path).

:class:`~mcsf_gym.core.lookahead.AdmissionCheck` is the rule: a candidate of prompt ``s`` and
predicted length ``p`` fits when ``m[h] + s + h <= cap`` for every ``h <= p``, where ``m`` is the
predicted memory of the running set and the accepted candidates at the coming boundaries. It
answers one candidate with one ``O(p)`` vector operation. The environment asks about every
window slot at every step, so :class:`WindowCheck` keeps the prefix maximum of ``m[h] + h``
(recomputed once after each addition) and answers each candidate with one lookup. The answers
are those of :class:`AdmissionCheck` on the same profile and additions (``tests/test_env_fast``
checks it on random profiles).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# 1, 2, 3, ... shared by every check (grown on demand; checks only read slices of it).
_ramp: NDArray[np.int64] = np.arange(1, 1025, dtype=np.int64)


# Prefix maxima up to this long are read as a list; longer ones by gathering the entries asked.
_LIST_PREFIX = 256
_NO_PREFIX: NDArray[np.int64] = np.zeros(0, dtype=np.int64)


def _ramp_to(length: int) -> NDArray[np.int64]:
    """``1 .. length`` (a read-only slice of the shared ramp)."""
    global _ramp
    if length > _ramp.size:
        _ramp = np.arange(1, max(length, 2 * _ramp.size) + 1, dtype=np.int64)
    return _ramp[:length]


class WindowCheck:
    """MC-SF's memory check for one round boundary, with candidates added one at a time.

    Same answers as :class:`~mcsf_gym.core.lookahead.AdmissionCheck` (``fits``, ``add``,
    ``peak``, ``feasible``), plus :meth:`fits_many` for a window of candidates. A candidate
    predicted to produce nothing (length ``<= 0``) fits and adds nothing, as in the core.

    Args:
        profile: predicted memory of the running set at boundaries ``r + 1 .. r + H``; the check
            takes the array over (pass a copy, as ``StateView.profile()`` returns).
        cap: the bound ``M (1 - α)``.
    """

    __slots__ = ("_cap", "_memory", "_peak", "_prefix", "feasible")

    def __init__(self, profile: NDArray[np.int64], cap: float) -> None:
        self._memory = profile
        self._cap = cap
        self._peak = int(profile.max()) if profile.size else 0
        #: Whether the running set (and the candidates added) stays within ``cap`` as predicted.
        self.feasible = profile.size == 0 or self._peak <= cap
        # Prefix maximum of memory[h] + h + 1 (h from 0) over a leading part; None after a change.
        self._prefix: NDArray[np.int64] | None = None

    def _grow(self, length: int) -> None:
        memory = self._memory
        if length > memory.size:
            grown = np.zeros(length, dtype=np.int64)
            grown[: memory.size] = memory
            self._memory = grown

    def _tops(self, predictions: Sequence[int]) -> list[int]:
        """``max over h < p of memory[h] + h + 1`` for each ``p`` (any value for ``p <= 0``).

        The prefix maximum is computed up to the longest ``p`` (at most the profile) and kept
        until a change; beyond the profile the memory is 0, so the maximum is ``max(last, p)``.
        """
        size = self._memory.size
        need = min(max(predictions), size)
        prefix = self._prefix
        if prefix is None or prefix.size < need:
            prefix = _NO_PREFIX
            if need:
                prefix = np.maximum.accumulate(self._memory[:need] + _ramp_to(need))
            self._prefix = prefix
        index = [min(p, size) - 1 for p in predictions]
        if prefix.size <= _LIST_PREFIX:
            values = prefix.tolist()
            found = [values[i] if i >= 0 else 0 for i in index]
        else:  # a long profile: read only the entries asked for
            found = prefix[np.maximum(index, 0)].tolist()
        return [max(top, p) if p > size else top for top, p in zip(found, predictions, strict=True)]

    def fits(self, prompt: int, prediction: int) -> bool:
        """Whether a candidate with this prompt and predicted length keeps the profile in cap."""
        return self.fits_many((prompt,), (prediction,))[0]

    def fits_many(self, prompts: Sequence[int], predictions: Sequence[int]) -> list[bool]:
        """:meth:`fits` of each candidate ``(prompts[k], predictions[k])``."""
        if not self.feasible or not predictions:
            return [False] * len(predictions)
        cap = self._cap
        return [
            p <= 0 or top + s <= cap
            for s, p, top in zip(prompts, predictions, self._tops(predictions), strict=True)
        ]

    def add(self, prompt: int, prediction: int) -> None:
        """Add a candidate (admitted for the coming round) to the profile."""
        if prediction <= 0:
            return
        self._grow(prediction)
        segment = self._memory[:prediction]
        segment += prompt + _ramp_to(prediction)
        top = int(segment.max())
        if top > self._cap:
            self.feasible = False
        if top > self._peak:
            self._peak = top
        self._prefix = None

    def peak(self) -> int:
        """The highest predicted memory over the coming boundaries (0 if nothing runs)."""
        return self._peak
