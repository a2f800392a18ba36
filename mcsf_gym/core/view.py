"""What a scheduler may see at a round boundary (docs/model.md section 4), and nothing more.

The engine keeps everything a scheduler may observe in a :class:`PublicState` and the true
output lengths apart from it. A :class:`StateView` wraps only the public state: no attribute
path leads from a view to an unfinished request's true output length. Arrays are read-only.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.lookahead import AdmissionCheck, MemoryProfile

FUTURE, WAITING, RUNNING, DONE = 0, 1, 2, 3


def _read_only(array: NDArray) -> NDArray:
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass
class PublicState:
    """The observable state, owned and updated by the engine (schedulers get a view of it).

    Besides the arrays, the engine keeps Python mirrors for scalar access in hot loops:
    ``status_bytes`` shares its memory with ``status``; ``lengths`` mirrors
    ``predicted_length``; ``waiting_ids`` is the sorted list of waiting ids and
    ``waiting_log`` the ids in the order they became waiting (arrivals, evictions), so that
    consumers can follow the waiting set by its changes instead of rescanning it.
    """

    memory: int
    arrival: NDArray[np.float64]
    prompt: NDArray[np.int64]
    prediction: NDArray[np.int64]
    lower: NDArray[np.int64] | None
    status: NDArray[np.int8]
    start_round: NDArray[np.int64]
    predicted_length: NDArray[np.int64]
    profile: MemoryProfile
    time: float = 0.0
    round_index: int = 0
    n_arrived: int = 0
    n_finished: int = 0
    memory_in_use: int = 0
    running: dict[int, None] = field(default_factory=dict)
    max_predicted_end: int = 0
    idle_duration: float = 1.0
    last_duration: float = 0.0
    status_bytes: bytearray = field(default_factory=bytearray)
    lengths: list[int] = field(default_factory=list)
    waiting_ids: list[int] = field(default_factory=list)
    waiting_log: list[int] = field(default_factory=list)
    _waiting_cache: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        if not self.status_bytes:
            # The status array becomes a view of a bytearray: one memory, two ways to read it.
            self.status_bytes = bytearray(self.status.tobytes())
            self.status = np.frombuffer(self.status_bytes, dtype=np.int8)
        if not self.lengths:
            self.lengths = self.predicted_length.tolist()
        if not self.waiting_ids:
            self.waiting_ids = np.flatnonzero(self.status == WAITING).tolist()
            self.waiting_log = list(self.waiting_ids)

    def __getstate__(self) -> dict[str, object]:
        """The state to copy or pickle: ``status`` is rebuilt on ``status_bytes``'s memory."""
        state = dict(self.__dict__)
        del state["status"]
        state["_waiting_cache"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore a copy: ``status`` shares ``status_bytes``'s memory again."""
        self.__dict__.update(state)
        self.status = np.frombuffer(self.status_bytes, dtype=np.int8)

    def invalidate(self) -> None:
        """Forget cached derived arrays after the waiting set changed."""
        self._waiting_cache = None

    def arrive(self, first: int, last: int) -> None:
        """Requests ``first .. last - 1`` (later than every waiting one) start waiting."""
        self.status[first:last] = WAITING
        new = range(first, last)
        self.waiting_ids.extend(new)
        self.waiting_log.extend(new)
        self._waiting_cache = None

    def requeue(self, ids: list[int]) -> None:
        """Running requests ``ids`` (evicted) wait again."""
        status = self.status_bytes
        for request in ids:
            status[request] = WAITING
        waiting = self.waiting_ids
        if len(ids) > 8:
            waiting.extend(ids)
            waiting.sort()
        else:
            for request in ids:
                insort(waiting, request)
        self.waiting_log.extend(ids)
        self._waiting_cache = None

    def unqueue(self, request: int) -> None:
        """Waiting ``request`` leaves the waiting set (its status is set by the caller)."""
        waiting = self.waiting_ids
        del waiting[bisect_left(waiting, request)]
        self._waiting_cache = None

    def waiting(self) -> NDArray[np.int64]:
        """Ids of arrived, waiting requests in arrival order (cached until the next change)."""
        if self._waiting_cache is None:
            ids = np.array(self.waiting_ids, dtype=np.int64)
            ids.flags.writeable = False
            self._waiting_cache = ids
        return self._waiting_cache


class StateView:
    """A read-only view of the engine's public state at a round boundary.

    Request ids index the instance (``0..n-1``, arrival order). Times are in the time model's
    unit (rounds for ``unit``, seconds for ``linear``); ``round_index`` counts rounds run.
    """

    __slots__ = (
        "_state",
        "arrival",
        "lower",
        "prediction",
        "predictions",
        "prompt",
        "prompts",
        "start_round",
        "status",
        "statuses",
    )

    def __init__(self, state: PublicState) -> None:
        self._state = state
        #: Arrival time of every request.
        self.arrival = _read_only(state.arrival)
        #: Prompt size ``s_i`` of every request.
        self.prompt = _read_only(state.prompt)
        #: Predicted output length ``õ_i`` of every request, as given by the prediction model.
        self.prediction = _read_only(state.prediction)
        #: Lower bounds ``l_i`` of interval predictions, or ``None``.
        self.lower = None if state.lower is None else _read_only(state.lower)
        #: Status of every request: 0 not arrived, 1 waiting, 2 running, 3 done.
        self.status = _read_only(state.status)
        #: Round index at which each running request was admitted (-1 if not running).
        self.start_round = _read_only(state.start_round)
        #: ``prompt`` as a tuple of Python ints (fast scalar access in a scheduler's loop).
        self.prompts: tuple[int, ...] = tuple(state.prompt.tolist())
        #: ``prediction`` as a tuple of Python ints.
        self.predictions: tuple[int, ...] = tuple(state.prediction.tolist())
        #: ``status`` as a read-only memoryview: ``statuses[i]`` is a Python int.
        self.statuses = memoryview(state.status_bytes).toreadonly()

    def __reduce__(self) -> tuple[type[StateView], tuple[PublicState]]:
        """Copied or pickled as the state it views (the read-only views are rebuilt)."""
        return (StateView, (self._state,))

    @property
    def memory(self) -> int:
        """KV-cache capacity ``M`` in tokens."""
        return self._state.memory

    @property
    def time(self) -> float:
        """Current time (the start of the coming round)."""
        return self._state.time

    @property
    def idle_duration(self) -> float:
        """Duration of an empty round under the time model (the environment's unit of time).

        1 for ``unit``; 0.0446 s for the ``linear`` preset.
        """
        return self._state.idle_duration

    @property
    def last_duration(self) -> float:
        """Time that passed in the latest round or idle wait (0 before the first one)."""
        return self._state.last_duration

    @property
    def round_index(self) -> int:
        """Number of rounds run so far."""
        return self._state.round_index

    @property
    def waiting(self) -> NDArray[np.int64]:
        """Ids of arrived, waiting requests in arrival order (ties by id)."""
        return self._state.waiting()

    @property
    def n_waiting(self) -> int:
        """Number of waiting requests."""
        return len(self._state.waiting_ids)

    def iter_waiting(self) -> Iterator[int]:
        """Waiting ids in arrival order, lazily: taking the first ``k`` costs ``O(k)``.

        Valid until the engine next changes the state (do not keep it across rounds).
        """
        return iter(self._state.waiting_ids)

    @property
    def waiting_log_size(self) -> int:
        """How many times a request has become waiting so far (arrivals and evictions)."""
        return len(self._state.waiting_log)

    def waiting_since(self, position: int) -> list[int]:
        """The ids that became waiting after the first ``position`` such events, in order.

        A scheduler that keeps its own queue calls it with the :attr:`waiting_log_size` it
        saw last time and so pays for the changes only. An id may since have left the
        waiting set again (check :attr:`statuses`), or appear twice.
        """
        return self._state.waiting_log[position:]

    def predicted_length_of(self, request: int) -> int:
        """:meth:`predicted_length` of one request, as a Python int."""
        return self._state.lengths[request]

    def predicted_lengths_of(self, ids: Sequence[int]) -> list[int]:
        """:meth:`predicted_length` of the requests ``ids``, as a list of Python ints."""
        lengths = self._state.lengths
        return [lengths[request] for request in ids]

    @property
    def running(self) -> NDArray[np.int64]:
        """Ids of running requests in admission order (oldest first)."""
        return np.fromiter(self._state.running, dtype=np.int64, count=len(self._state.running))

    @property
    def n_running(self) -> int:
        """Number of running requests."""
        return len(self._state.running)

    @property
    def n_arrived(self) -> int:
        """Number of requests that have arrived so far."""
        return self._state.n_arrived

    @property
    def n_finished(self) -> int:
        """Number of requests that have finished."""
        return self._state.n_finished

    @property
    def memory_in_use(self) -> int:
        """KV tokens held now by running requests (``sum s_i + produced_i``)."""
        return self._state.memory_in_use

    @property
    def memory_next_round(self) -> int:
        """KV tokens the running requests will hold after the coming round."""
        return self._state.memory_in_use + len(self._state.running)

    def produced(self, ids: NDArray[np.int64] | list[int]) -> NDArray[np.int64]:
        """Output tokens produced so far by running requests ``ids``."""
        return self._state.round_index - self._state.start_round[np.asarray(ids, dtype=np.int64)]

    def predicted_length(self, ids: NDArray[np.int64] | list[int]) -> NDArray[np.int64]:
        """The output length the look-ahead assumes for each request.

        The prediction clipped to ``M - s_i`` (no servable request is longer), and for a
        running request that outlived it, the tokens produced + 1 (docs/model.md section 5). A
        request evicted after outliving its prediction keeps that raised length, while it
        waits and when it restarts: it was seen to produce that many tokens.
        """
        return self._state.predicted_length[np.asarray(ids, dtype=np.int64)]

    def profile(self, length: int | None = None) -> NDArray[np.int64]:
        """Predicted memory of the running set at the next ``length`` round boundaries."""
        state = self._state
        if length is None:
            length = max(0, state.max_predicted_end - state.round_index)
        return state.profile.window(state.round_index, length)

    def admission_check(self, alpha: float = 0.0) -> AdmissionCheck:
        """MC-SF's memory check against ``M (1 - alpha)`` for the coming round."""
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        state = self._state
        now = state.round_index
        return AdmissionCheck.on_profile(
            state.profile,
            now,
            max(0, state.max_predicted_end - now),
            state.memory * (1.0 - alpha),
        )

    def admission_fits(self, prompt: int, prediction: int, alpha: float = 0.0) -> bool:
        """``admission_check(alpha).fits(prompt, prediction)``, without building the check.

        For the first candidate of a walk, which usually ends it.
        """
        return self.earliest_fit(prompt, prediction, alpha) == self._state.round_index

    def earliest_fit(self, prompt: int, prediction: int, alpha: float = 0.0) -> int:
        """The first round boundary, from this one on, at which a candidate may fit.

        :attr:`round_index` when ``admission_fits(prompt, prediction, alpha)``; otherwise a
        later round index before which the candidate certainly does not fit while the
        running set's predicted memory stays as it is (:attr:`profile_version` unchanged), so
        a scheduler waiting on the same candidate may skip the test until then.
        """
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        state = self._state
        return state.profile.earliest_fit(
            state.round_index,
            state.max_predicted_end,
            state.memory * (1.0 - alpha),
            prompt,
            prediction,
        )

    @property
    def profile_version(self) -> int:
        """Changes whenever the running set's predicted memory ahead changes.

        Admissions, evictions, early completions and requests outliving their prediction
        change it; rounds that only advance time do not.
        """
        return self._state.profile.version
