"""The predicted memory profile of the running set and MC-SF's admission check (docs/model.md 5).

Memory only peaks at (predicted) completion times, and between two of them it grows by one
token per active request per round, so checking every future round boundary is the same as
checking only the completion times. :class:`MemoryProfile` keeps, for every future boundary
``T``, the memory the running requests will hold after round ``T - 1`` if each ends at its
predicted length: a circular array updated only when the running set changes (admission,
early completion, eviction, or a request outliving its prediction), so a round boundary costs
nothing to prepare. :class:`AdmissionCheck` copies the part of it that matters and tests
candidates against ``M (1 - α)`` in time proportional to the candidate's predicted length.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class MemoryProfile:
    """Predicted memory of the running set at every future round boundary.

    Round boundaries are counted in rounds (``T`` = number of rounds finished), in both time
    models. A request of prompt ``s`` admitted at boundary ``p`` and predicted to produce
    ``e - p`` tokens holds ``s + T - p`` tokens at every boundary ``T`` in ``(p, e]``.

    Args:
        horizon: the longest predicted run, in rounds (``M`` suffices: predictions are clipped
            to ``M - s``).
    """

    __slots__ = ("_size", "_values")

    def __init__(self, horizon: int) -> None:
        self._size = int(horizon) + 2
        self._values = np.zeros(self._size, dtype=np.int64)

    def _apply(self, prompt: int, start: int, begin: int, end: int, sign: int) -> None:
        """Add ``sign * (prompt + T - start)`` at every ``T`` in ``(begin, end]``."""
        if end <= begin:
            return
        if end - begin >= self._size:
            raise ValueError(f"a run of {end - begin} rounds exceeds the profile horizon")
        offset = prompt - start
        first = (begin + 1) % self._size
        length = end - begin
        stop = first + length
        values = self._values
        if stop <= self._size:
            values[first:stop] += sign * (np.arange(begin + 1, end + 1) + offset)
        else:
            split = self._size - first
            ramp = np.arange(begin + 1, end + 1) + offset
            values[first:] += sign * ramp[:split]
            values[: stop - self._size] += sign * ramp[split:]

    def add(self, prompt: int, start: int, begin: int, end: int) -> None:
        """Count a request (prompt ``prompt``, admitted at ``start``) at ``(begin, end]``."""
        self._apply(prompt, start, begin, end, 1)

    def remove(self, prompt: int, start: int, begin: int, end: int) -> None:
        """Undo :meth:`add` over ``(begin, end]`` (an early completion or an eviction)."""
        self._apply(prompt, start, begin, end, -1)

    def forget(self, boundary: int) -> None:
        """Clear the slot of a boundary that has passed, so it can be reused."""
        self._values[boundary % self._size] = 0

    def window(self, boundary: int, length: int) -> NDArray[np.int64]:
        """A copy of the predicted memory at boundaries ``boundary + 1 .. boundary + length``."""
        length = min(int(length), self._size - 1)
        first = (boundary + 1) % self._size
        stop = first + length
        if stop <= self._size:
            return self._values[first:stop].copy()
        return np.concatenate((self._values[first:], self._values[: stop - self._size]))


class AdmissionCheck:
    """MC-SF's memory check for one round boundary, with candidates added one at a time.

    Holds the predicted memory ``m[h]`` at the coming boundaries ``r + h`` (``h = 1..H``) of
    the running set plus the candidates accepted so far. A candidate of prompt ``s`` and
    (clipped) prediction ``p`` fits when ``m[h] + s + h <= cap`` for every ``h <= p``; later
    boundaries are unchanged by it, and were within ``cap`` already (checked once, on
    construction). Each test or addition costs ``O(p)`` vector work.

    Args:
        profile: predicted memory of the running set at boundaries ``r + 1 .. r + H``.
        cap: the bound ``M (1 - α)``.
    """

    __slots__ = ("_cap", "_memory", "_ramp", "feasible")

    def __init__(self, profile: NDArray[np.int64], cap: float) -> None:
        self._memory = np.array(profile, dtype=np.int64)
        self._ramp = np.arange(1, self._memory.size + 1, dtype=np.int64)
        self._cap = cap
        #: Whether the running set (and the candidates added) stays within ``cap`` as predicted.
        self.feasible = bool(self._memory.size == 0 or self._memory.max() <= cap)

    def _ensure(self, length: int) -> None:
        if length > self._memory.size:
            grown = np.zeros(length, dtype=np.int64)
            grown[: self._memory.size] = self._memory
            self._memory = grown
            self._ramp = np.arange(1, length + 1, dtype=np.int64)

    def fits(self, prompt: int, prediction: int) -> bool:
        """Whether a candidate with this prompt and predicted length keeps the profile in cap."""
        if not self.feasible:
            return False
        self._ensure(prediction)
        peak = int((self._memory[:prediction] + self._ramp[:prediction]).max())
        return peak + prompt <= self._cap

    def add(self, prompt: int, prediction: int) -> None:
        """Add a candidate (admitted for the coming round) to the profile."""
        self._ensure(prediction)
        self._memory[:prediction] += prompt + self._ramp[:prediction]
        if self._memory[:prediction].max() > self._cap:
            self.feasible = False

    def peak(self) -> int:
        """The highest predicted memory over the coming boundaries (0 if nothing runs)."""
        return int(self._memory.max()) if self._memory.size else 0
