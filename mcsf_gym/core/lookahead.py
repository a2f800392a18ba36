"""The predicted memory profile of the running set and MC-SF's admission check (docs/model.md 5).

Memory only peaks at (predicted) completion times, and between two of them it grows by one
token per active request per round, so checking every future round boundary is the same as
checking only the completion times. :class:`MemoryProfile` keeps, for every future boundary
``T``, the memory the running requests will hold after round ``T - 1`` if each ends at its
predicted length: a circular array updated only when the running set changes (admission,
early completion, eviction, or a request outliving its prediction), so a round boundary costs
nothing to prepare. Beside it, it keeps the same values plus ``T`` (the "shifted" profile), so
that a candidate's check is one maximum over a slice, with no copy. :class:`AdmissionCheck`
tests candidates against ``M (1 - α)``; built on the engine's profile it copies nothing until
the first candidate is added, and a test costs one maximum over the candidate's predicted
length.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.kernels import compiled_kernel

_RAMP = np.arange(1, 1025, dtype=np.int64)
#: Prefix maxima up to this long are read as a list; longer ones by gathering the entries asked.
_LIST_PREFIX = 256


def ramp(length: int) -> NDArray[np.int64]:
    """``1, 2, .., length`` as a read-only view of a shared array (grown on demand)."""
    global _RAMP
    if length > _RAMP.size:
        grown = np.arange(1, max(length, 2 * _RAMP.size) + 1, dtype=np.int64)
        grown.flags.writeable = False
        _RAMP = grown
    return _RAMP[:length]


_RAMP.flags.writeable = False


def _top(values: NDArray[np.int64]) -> int:
    """The largest of a non-empty array (``argmax`` then a read: faster than ``max`` on numpy)."""
    return int(values[values.argmax()])


def add_while_fits_sliced(
    shifted: NDArray[np.int64],
    prompts: Sequence[int],
    lengths: Sequence[int],
    cap: float,
    longest: int | None = None,
) -> int:
    """:func:`mcsf_gym.core.kernels.add_while_fits` on numpy slices: same answers, same state.

    Candidate ``j`` (prompt ``s = prompts[j] >= 0``, length ``p = lengths[j] >= 1``, with
    ``shifted`` at least ``p`` long) fits when ``max(shifted[:p]) + s <= cap``; adding it
    raises ``shifted[h - 1]`` by ``s + h`` for ``h <= p``. Returns how many were added.
    ``longest`` is ``max(lengths)`` when the caller knows it.
    """
    steps = ramp(max(prompts) + (max(lengths) if longest is None else longest))
    for added, (prompt, length) in enumerate(zip(prompts, lengths, strict=True)):
        head = shifted[:length]
        if head.item(head.argmax()) + prompt > cap:
            return added
        head += steps[prompt : prompt + length]
    return len(prompts)


class MemoryProfile:
    """Predicted memory of the running set at every future round boundary.

    Round boundaries are counted in rounds (``T`` = number of rounds finished), in both time
    models. A request of prompt ``s`` admitted at boundary ``p`` and predicted to produce
    ``e - p`` tokens holds ``s + T - p`` tokens at every boundary ``T`` in ``(p, e]``.

    Args:
        horizon: the longest predicted run, in rounds (``M`` suffices: predictions are clipped
            to ``M - s``).
    """

    __slots__ = ("_changes", "_peak", "_shifted", "_size", "_top_cache", "_version")

    def __init__(self, horizon: int) -> None:
        self._size = int(horizon) + 2
        # The predicted memory at T plus T, in the slot of the boundary T it stands for (slot
        # 0 first stands for T = size: boundary 0 is never ahead of a round boundary).
        self._shifted = np.arange(self._size, dtype=np.int64)
        self._shifted[0] = self._size
        self._version = 0  # counts additions and removals
        self._changes = 0  # counts every change (forget included)
        self._peak: tuple[int, int, int, int, int] | None = None
        self._top_cache: tuple[int, int, int, int, int] | None = None

    @property
    def size(self) -> int:
        """Slots of the circular array: the longest window is ``size - 1`` boundaries."""
        return self._size

    @property
    def version(self) -> int:
        """Counts the additions and removals: the predicted memory ahead is unchanged with it."""
        return self._version

    @property
    def changes(self) -> int:
        """How many times the profile has changed (to tell a stale snapshot)."""
        return self._changes

    def _apply(self, prompt: int, start: int, begin: int, end: int, sign: int) -> None:
        """Add ``sign * (prompt + T - start)`` at every ``T`` in ``(begin, end]``."""
        if end <= begin:
            return
        if end - begin >= self._size:
            raise ValueError(f"a run of {end - begin} rounds exceeds the profile horizon")
        self._version += 1
        self._changes += 1
        offset = prompt - start + begin  # the value at T = begin + k is offset + k
        first = (begin + 1) % self._size
        length = end - begin
        split = min(first + length, self._size) - first
        values = self._shifted
        parts = [(values[first : first + split], 0, split)]
        if split < length:
            parts.append((values[: length - split], split, length))
        for part, low, high in parts:
            # offset + k for k in low+1..high: one slice of the shared ramp when offset >= 0
            shift = max(offset, 0)
            steps = ramp(shift + high)[shift + low :]
            if shift != offset:
                steps = steps + (offset - shift)
            if sign > 0:
                part += steps
            else:
                part -= steps

    def add(self, prompt: int, start: int, begin: int, end: int) -> None:
        """Count a request (prompt ``prompt``, admitted at ``start``) at ``(begin, end]``."""
        self._apply(prompt, start, begin, end, 1)

    def remove(self, prompt: int, start: int, begin: int, end: int) -> None:
        """Undo :meth:`add` over ``(begin, end]`` (an early completion or an eviction)."""
        self._apply(prompt, start, begin, end, -1)

    def forget(self, boundary: int) -> None:
        """Clear the slot of a boundary that has passed, so it can be reused."""
        slot = boundary % self._size
        self._changes += 1
        self._shifted[slot] = boundary + self._size

    def _slices(self, values: NDArray[np.int64], boundary: int, length: int) -> list[NDArray]:
        """The slots of boundaries ``boundary + 1 .. boundary + length``, as one or two views."""
        first = (boundary + 1) % self._size
        stop = first + length
        if stop <= self._size:
            return [values[first:stop]]
        return [values[first:], values[: stop - self._size]]

    def window(self, boundary: int, length: int) -> NDArray[np.int64]:
        """A copy of the predicted memory at boundaries ``boundary + 1 .. boundary + length``."""
        length = min(int(length), self._size - 1)
        return self.shifted_window(boundary, length) - ramp(length)

    def peak(self, boundary: int, length: int) -> int:
        """The highest predicted memory at boundaries ``boundary + 1 .. boundary + length``.

        Cached: while the profile is unchanged and the window keeps its end, the answer stays
        valid until the boundary of the maximum has passed.
        """
        length = min(int(length), self._size - 1)
        if length <= 0:
            return 0
        end = boundary + length
        cached = self._peak
        if (
            cached is not None
            and cached[0] == self._version
            and cached[1] == end
            and cached[2] <= boundary < cached[3]
        ):
            return cached[4]
        first = (boundary + 1) % self._size
        if first + length <= self._size:  # one slice, the usual case
            memory = self._shifted[first : first + length] - ramp(length)
            index = int(memory.argmax())
            best = memory.item(index) - boundary
            self._peak = (self._version, end, boundary, boundary + 1 + index, best)
            return best
        best, where = 0, end + 1
        offset = 0
        for part in self._slices(self._shifted, boundary, length):
            memory = part - ramp(offset + part.size)[offset:]
            index = int(memory.argmax())
            value = int(memory[index]) - boundary
            if where > end or value > best:
                best, where = value, boundary + 1 + offset + index
            offset += part.size
        self._peak = (self._version, end, boundary, where, best)
        return best

    def earliest_fit(
        self, boundary: int, end: int, cap: float, prompt: int, prediction: int
    ) -> int:
        """The first boundary, from ``boundary`` on, at which a candidate may fit.

        The candidate (prompt ``prompt``, predicted length ``prediction``) is tested beside a
        running set predicted to end by ``end``, against ``cap``: it fits at ``boundary`` when
        ``AdmissionCheck.on_profile(self, boundary, end - boundary, cap).fits(prompt,
        prediction)``, and the answer is then ``boundary``. Otherwise the answer is a later
        boundary before which it certainly does not fit as long as the profile is unchanged
        (:attr:`version`): while the boundary ``where`` of its window's maximum ``best + T``
        stays ahead, that maximum only grows and the test fails until ``best + prompt <= cap``
        (often ``boundary + 1``: test again at the next one). The test reads the slots in place
        (:meth:`shifted_peak`): it is the test of a queue's head, which usually ends a walk.
        """
        if not 0 < prediction < self._size:
            length = max(0, end - boundary)
            check = AdmissionCheck.on_profile(self, boundary, length, cap)
            return boundary if check.fits(prompt, prediction) else boundary + 1
        top = self.shifted_peak(boundary, prediction)
        if top + prompt > cap:
            cached = self._top_cache
            assert cached is not None
            return min(cached[3], ceil(top + boundary + prompt - cap))
        if end <= boundary or self.peak(boundary, end - boundary) <= cap:
            return boundary
        return boundary + 1

    def shifted_window(self, boundary: int, length: int) -> NDArray[np.int64]:
        """A copy of (predicted memory at ``boundary + h``) ``+ h`` for ``h = 1..length``.

        ``length`` may reach past the running set's last predicted end, up to ``size - 1``.
        """
        if length >= self._size:
            raise ValueError(f"a window of {length} rounds exceeds the profile horizon")
        parts = self._slices(self._shifted, boundary, length)
        return parts[0] - boundary if len(parts) == 1 else np.concatenate(parts) - boundary

    def shifted_peak(self, boundary: int, length: int) -> int:
        """``max over h = 1..length`` of (predicted memory at ``boundary + h``) ``+ h``.

        ``length`` may reach past the running set's last predicted end (the memory is 0 there),
        from 1 up to ``size - 1``. Cached for the test of a queue's head, asked again round
        after round while it waits: while the profile is unchanged, the window's start has not
        passed the boundary of the maximum and its end has moved on by at most one boundary,
        the answer is the cached maximum and at most one more slot.
        """
        if length >= self._size:
            raise ValueError(f"a window of {length} rounds exceeds the profile horizon")
        end = boundary + length
        cached = self._top_cache
        if cached is not None and cached[0] == self._version and cached[1] <= boundary:
            _, _, last, where, best = cached
            if boundary < where <= end <= last:
                return best - boundary
            if end == last + 1 and boundary < where:
                value = self._shifted.item(end % self._size)
                if value >= best:
                    best, where = value, end
                self._top_cache = (self._version, boundary, end, where, best)
                return best - boundary
        first = (boundary + 1) % self._size
        stop = first + length
        values = self._shifted
        if stop <= self._size:
            part = values[first:stop]
            index = part.argmax()
            best, where = part.item(index), boundary + 1 + int(index)
        else:
            head, tail = values[first:], values[: stop - self._size]
            index, other = head.argmax(), tail.argmax()
            best, where = head.item(index), boundary + 1 + int(index)
            if tail.item(other) > best:
                best, where = tail.item(other), boundary + 1 + head.size + int(other)
        self._top_cache = (self._version, boundary, end, where, best)
        return best - boundary


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

    __slots__ = (
        "_asked",
        "_boundary",
        "_cap",
        "_changes",
        "_feasible",
        "_first",
        "_prefix",
        "_shifted",
        "_source",
        "_window",
    )

    def __init__(self, profile: NDArray[np.int64], cap: float) -> None:
        memory = np.asarray(profile, dtype=np.int64)
        self._cap = cap
        self._source: MemoryProfile | None = None
        self._changes = 0
        self._boundary = 0
        self._first = 0
        self._window = memory.size
        self._asked: tuple[int, int, bool] | None = None
        self._prefix: NDArray[np.int64] | None = None
        # m[h] + h for h = 1..len: a test is then one maximum over a prefix.
        self._shifted: NDArray[np.int64] | None = memory + ramp(memory.size)
        self._feasible: bool | None = bool(memory.size == 0 or memory.max() <= cap)

    @classmethod
    def on_profile(
        cls, profile: MemoryProfile, boundary: int, length: int, cap: float
    ) -> AdmissionCheck:
        """The check on ``profile``'s window ``boundary + 1 .. boundary + length``, not copied.

        Same answers as ``AdmissionCheck(profile.window(boundary, length), cap)``; the window
        is copied only when a candidate is added. It refuses to answer (``RuntimeError``) once
        ``profile`` has changed before that.
        """
        check = cls.__new__(cls)
        window = max(0, min(int(length), profile._size - 1))
        check._cap = cap
        check._source = profile
        check._boundary = boundary
        check._first = (boundary + 1) % profile._size
        check._window = window
        check._shifted = None
        check._asked = None
        check._prefix = None
        check._changes = profile._changes
        check._feasible = True if window == 0 else None  # computed when first needed
        return check

    @property
    def feasible(self) -> bool:
        """Whether the running set (and the candidates added) stays within ``cap`` as predicted."""
        feasible = self._feasible
        if feasible is None:
            feasible = self._profile().peak(self._boundary, self._window) <= self._cap
            self._feasible = feasible
        return feasible

    def _profile(self) -> MemoryProfile:
        """The engine's profile this check reads, refused once it has changed."""
        source = self._source
        assert source is not None
        if source._changes != self._changes:
            raise RuntimeError(
                "stale admission check: the memory profile changed since it was built (a round "
                "ran); build a new one at the new boundary"
            )
        return source

    def _materialize(self, length: int) -> NDArray[np.int64]:
        """The local copy of ``m[h] + h``, at least ``length`` long."""
        shifted = self._shifted
        if shifted is None:
            source = self._profile()
            if self._feasible is None:
                self._feasible = source.peak(self._boundary, self._window) <= self._cap
            size = max(length, self._window)
            if size < source.size:
                shifted = source.shifted_window(self._boundary, size)
            else:
                window = source.window(self._boundary, self._window)
                shifted = np.zeros(size, dtype=np.int64)
                shifted[: window.size] = window
                shifted += ramp(size)
            self._source = None
        elif length > shifted.size:
            grown = ramp(length).copy()
            grown[: shifted.size] = shifted
            shifted = grown
        self._shifted = shifted
        self._prefix = None
        return shifted

    def _top(self, prediction: int) -> int:
        """``max over h <= prediction`` of ``m[h] + h``."""
        shifted = self._shifted
        if shifted is None:
            source = self._profile()
            size = source._size
            if prediction < size:  # read the profile's slots in place
                buffer = source._shifted
                first = self._first
                stop = first + prediction
                if stop <= size:
                    return _top(buffer[first:stop]) - self._boundary
                return max(_top(buffer[first:]), _top(buffer[: stop - size])) - self._boundary
            shifted = self._materialize(prediction)
        if prediction > shifted.size:
            top = _top(shifted) if shifted.size else 0
            return max(top, prediction)  # m[h] = 0 beyond the window
        return _top(shifted[:prediction])

    def fits(self, prompt: int, prediction: int) -> bool:
        """Whether a candidate with this prompt and predicted length keeps the profile in cap."""
        if self._feasible is False:
            return False
        if prediction <= 0:
            return self.feasible
        # The candidate's own boundaries first: when they fail, the rest need not be read.
        result = self._top(prediction) + prompt <= self._cap and self.feasible
        self._asked = (prompt, prediction, result)
        return result

    def fits_many(self, prompts: Sequence[int], predictions: Sequence[int]) -> list[bool]:
        """:meth:`fits` of each candidate ``(prompts[k], predictions[k])``, none of them added.

        For a whole window of candidates asked at once (the environment's masks): one prefix
        maximum of ``m[h] + h``, kept until the next addition, answers each with one lookup.
        """
        if not predictions:
            return []
        if not self.feasible:
            return [False] * len(predictions)
        shifted = self._shifted
        if shifted is None:
            shifted = self._materialize(0)
        size = shifted.size
        need = min(max(predictions), size)
        prefix = self._prefix
        if prefix is None or prefix.size < need:
            prefix = np.maximum.accumulate(shifted[:need]) if need > 0 else shifted[:0]
            self._prefix = prefix
        index = [min(p, size) - 1 for p in predictions]
        if prefix.size <= _LIST_PREFIX:
            values = prefix.tolist()
            found = [values[i] if i >= 0 else 0 for i in index]
        else:  # a long profile: read only the entries asked for
            found = prefix[np.maximum(index, 0)].tolist()
        cap = self._cap
        return [
            p <= 0 or (max(top, p) if p > size else top) + s <= cap  # m[h] = 0 past the window
            for s, p, top in zip(prompts, predictions, found, strict=True)
        ]

    def add(self, prompt: int, prediction: int) -> None:
        """Add a candidate (admitted for the coming round) to the profile."""
        if prediction <= 0:
            return
        if self.feasible:
            asked = self._asked
            if asked is not None and asked[0] == prompt and asked[1] == prediction:
                self._feasible = asked[2]
            else:
                self._feasible = self.fits(prompt, prediction)
        self._asked = None
        shifted = self._shifted
        if shifted is None or prediction > shifted.size:
            shifted = self._materialize(prediction)
        self._prefix = None
        head = shifted[:prediction]
        if prompt >= 0:  # prompt + h for h = 1..prediction: one slice of the shared ramp
            head += ramp(prompt + prediction)[prompt:]
        else:
            head += ramp(prediction)
            head += prompt

    def add_while_fits(self, prompts: Sequence[int], predictions: Sequence[int]) -> int:
        """Add candidates in order while each fits (with those before it); return how many.

        The same answers and the same final state as :meth:`fits` then :meth:`add` for each
        until the first that does not fit: with numba installed, in one compiled loop
        (:mod:`mcsf_gym.core.kernels`), otherwise a maximum and an addition on a slice per
        candidate (:func:`add_while_fits_sliced`).
        """
        longest = max(predictions)
        if not self.feasible or min(predictions) <= 0 or min(prompts) < 0:
            added = 0
            for prompt, prediction in zip(prompts, predictions, strict=True):
                if not self.fits(prompt, prediction):
                    break
                self.add(prompt, prediction)
                added += 1
            return added
        shifted = self._shifted
        if shifted is None or longest > shifted.size:
            shifted = self._materialize(longest)
        self._asked = None
        self._prefix = None
        kernel = compiled_kernel() if len(prompts) > 1 else None
        if kernel is None:
            return add_while_fits_sliced(shifted, prompts, predictions, self._cap, longest)
        return int(
            kernel(
                shifted,
                np.array(prompts, dtype=np.int64),
                np.array(predictions, dtype=np.int64),
                float(self._cap),
            )
        )

    def peak(self) -> int:
        """The highest predicted memory over the coming boundaries (0 if nothing runs)."""
        shifted = self._shifted
        if shifted is None:
            return self._profile().peak(self._boundary, self._window)
        if shifted.size == 0:
            return 0
        return int((shifted - ramp(shifted.size)).max())
