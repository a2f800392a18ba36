"""The round-based engine: the only place where rounds, memory, time and eviction are computed.

docs/model.md sections 2-4. The engine is always at a round boundary. :meth:`Engine.run_round`
takes the requests to admit, evicts running requests if the round would overflow ``M``, runs
the round (every request in it produces one token), releases the memory of those that finish,
raises the predicted length of those that outlived their prediction, and moves to the next
boundary (jumping over idle gaps to the next arrival). Bookkeeping is incremental: a round
costs time proportional to the requests that arrive, start, finish or are evicted in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcsf_gym.core.config import SimConfig
from mcsf_gym.core.instance import Instance
from mcsf_gym.core.lookahead import MemoryProfile
from mcsf_gym.core.result import RoundTrace, SimulationResult, compute_metrics
from mcsf_gym.core.view import DONE, RUNNING, WAITING, PublicState, StateView


@dataclass(frozen=True)
class RoundReport:
    """What one call of :meth:`Engine.run_round` did.

    Attributes:
        duration: time that passed (a round, or an idle wait when nothing ran).
        latency: end-to-end latency accrued by all requests during that time.
        admitted: requests that started (after deferrals).
        deferred: admissions the engine sent back because the round could not fit them.
        evicted: running requests evicted before the round.
        finished: requests that completed at the end of the round.
        ran: whether a round ran (False for an idle wait).
    """

    duration: float
    latency: float
    admitted: tuple[int, ...]
    deferred: tuple[int, ...]
    evicted: tuple[int, ...]
    finished: tuple[int, ...]
    ran: bool


class Engine:
    """Runs one instance round by round under a configuration.

    Args:
        instance: the requests.
        config: memory, time model, eviction policy and seed.
        record: keep per-round records (:class:`RoundTrace`) for plots.

    Raises:
        ValueError: if a request can never fit in memory, or arrivals are not integers under
            the ``unit`` time model.
    """

    def __init__(self, instance: Instance, config: SimConfig, *, record: bool = False) -> None:
        memory = config.capacity
        instance.check_memory(memory)
        self._time_model = config.resolved_time_model
        if self._time_model.integer_arrivals:
            instance.check_integer_arrivals()
        self._eviction = config.resolved_eviction
        self._rng = np.random.default_rng(config.seed)
        self.instance = instance
        self.config = config
        n = instance.n
        # Private: true output lengths never enter the public state.
        self._output: list[int] = instance.output.tolist()
        self._prompt: list[int] = instance.prompt.tolist()
        self._arrival: list[float] = instance.arrival.tolist()
        self._clipped_prediction: list[int] = np.minimum(
            instance.prediction, memory - instance.prompt
        ).tolist()
        self.state = PublicState(
            memory=memory,
            arrival=instance.arrival,
            prompt=instance.prompt,
            prediction=instance.prediction,
            lower=instance.lower,
            status=np.zeros(n, dtype=np.int8),
            start_round=np.full(n, -1, dtype=np.int64),
            predicted_length=np.array(self._clipped_prediction, dtype=np.int64),
            # The longest run the look-ahead can assume: a clipped prediction, or the true
            # length once a request outlives it (so the profile does not scale with M).
            profile=MemoryProfile(max(max(self._clipped_prediction), max(self._output))),
            idle_duration=self._time_model.idle_duration,
        )
        self.view = StateView(self.state)
        # Python mirrors of the state's arrays, for scalar access in the loops below.
        self._status = self.state.status_bytes
        self._lengths = self.state.lengths
        self._start_round: list[int] = [-1] * n
        self._started = bytearray(n)  # whether a request has produced its first token
        self._n = n
        self._next_arrival = self._arrival[0] if n else math.inf
        self._finishing: dict[int, list[int]] = {}
        self._predicted_end: dict[int, list[int]] = {}
        self._running_start = 0
        self._start_time = np.full(n, math.nan)
        self._finish = np.full(n, math.nan)
        self._first_token = np.full(n, math.nan)
        self._evicted = np.zeros(n, dtype=np.int64)
        self._evictions = 0
        self._tokens_discarded = 0
        self._peak_memory = 0
        self._memory_sum = 0.0
        self._record = record
        self._trace: list[tuple[float, float, int, int, int]] = []
        self._arrive_until(self.state.time)
        self._skip_idle_gap()

    # ----------------------------------------------------------------- queries
    @property
    def done(self) -> bool:
        """Whether every request has finished."""
        return self.state.n_finished == self.instance.n

    @property
    def has_future_arrivals(self) -> bool:
        """Whether some request has not arrived yet (engine-side knowledge, not in the view)."""
        return self.state.n_arrived < self.instance.n

    @property
    def evictions_per_request(self) -> np.ndarray:
        """How many times each request has been evicted so far (a read-only copy)."""
        return self._evicted.copy()

    @property
    def n_present(self) -> int:
        """Requests that have arrived and not finished (they accrue latency)."""
        return self.state.n_arrived - self.state.n_finished

    # ----------------------------------------------------------------- stepping
    def run_round(self, admit: Sequence[int] = ()) -> RoundReport:
        """Admit ``admit`` (waiting ids, in priority order) and run one round.

        If nothing is running and nothing is admitted, the worker idles instead until the next
        arrival or for one empty round (the time model's ``idle_duration``), whichever is
        sooner.

        Raises:
            ValueError: if an id is not a waiting request or appears twice.
            RuntimeError: if the episode is already over.
        """
        state = self.state
        if state.n_finished == self._n:
            raise RuntimeError("the episode is over: every request has finished")
        admitted = self._validated(admit) if len(admit) else []
        running = state.running
        if not running and not admitted:
            return self._idle()
        prompt = self._prompt
        next_round = state.round_index + 1
        prefill = 0
        for request in admitted:
            prefill += prompt[request]
        need = state.memory_in_use + len(running) + prefill + len(admitted)
        evicted: list[int] = []
        deferred: list[int] = []
        if need > state.memory:
            need, evicted = self._evict_for(need)
            while need > state.memory and admitted:
                request = admitted.pop()
                deferred.append(request)
                need -= prompt[request] + 1
                prefill -= prompt[request]
        if not running and not admitted:
            # Everything was evicted: the scheduler decides again at the same boundary.
            return RoundReport(0.0, 0.0, (), tuple(deferred), tuple(evicted), (), ran=False)
        decoded = len(running) * state.round_index - self._running_start
        duration = self._time_model.duration(len(running) + len(admitted), decoded, prefill)
        start_time = state.time
        end_time = start_time + duration
        if admitted:
            started = self._started
            first_token = self._first_token
            for request in admitted:
                self._start(request)
                if not started[request]:
                    started[request] = 1
                    first_token[request] = end_time
        latency = (state.n_arrived - state.n_finished) * duration
        if self._record:
            waiting = len(state.waiting_ids)
            self._trace.append((start_time, duration, need, waiting, len(running)))
        state.time = end_time
        state.last_duration = duration
        state.round_index = next_round
        state.memory_in_use = need
        if need > self._peak_memory:
            self._peak_memory = need
        self._memory_sum += need
        finished = self._finish_round(next_round, end_time) if next_round in self._finishing else []
        if next_round in self._predicted_end:
            self._extend_overruns(next_round)
        state.profile.forget(next_round)
        if self._next_arrival <= end_time:
            latency += self._arrive_until(end_time)
        if not running:
            self._skip_idle_gap()
        return RoundReport(
            duration=duration,
            latency=latency,
            admitted=tuple(admitted),
            deferred=tuple(deferred),
            evicted=tuple(evicted),
            finished=tuple(finished),
            ran=True,
        )

    def result(self) -> SimulationResult:
        """The result of the finished episode.

        Raises:
            RuntimeError: if some request has not finished.
        """
        if not self.done:
            raise RuntimeError(
                f"the episode is not over: {self.instance.n - self.state.n_finished} "
                "request(s) have not finished"
            )
        trace = None
        if self._record:
            columns = list(zip(*self._trace, strict=True)) if self._trace else [()] * 5
            trace = RoundTrace(
                start=np.array(columns[0], dtype=np.float64),
                duration=np.array(columns[1], dtype=np.float64),
                memory=np.array(columns[2], dtype=np.int64),
                waiting=np.array(columns[3], dtype=np.int64),
                running=np.array(columns[4], dtype=np.int64),
            )
        return SimulationResult(
            instance=self.instance,
            memory=self.state.memory,
            time_model=self._time_model.name,
            start=self._start_time.copy(),
            finish=self._finish.copy(),
            first_token=self._first_token.copy(),
            evicted=self._evicted.copy(),
            metrics=compute_metrics(
                self.instance,
                self._finish,
                self._first_token,
                peak_memory=self._peak_memory,
                memory_sum=self._memory_sum,
                rounds=self.state.round_index,
                evictions=self._evictions,
                tokens_discarded=self._tokens_discarded,
            ),
            trace=trace,
        )

    # ----------------------------------------------------------------- internals
    def _validated(self, admit: Sequence[int]) -> list[int]:
        status = self._status
        n = len(status)
        admitted = [int(i) for i in admit]
        for request in admitted:
            if not 0 <= request < n or status[request] != WAITING:
                raise ValueError(
                    f"cannot admit request {request}: it is not waiting "
                    f"(status {status[request] if 0 <= request < n else 'unknown'})"
                )
        if len(set(admitted)) != len(admitted):
            raise ValueError(f"admit lists a request twice: {admitted}")
        return admitted

    def _idle(self) -> RoundReport:
        state = self.state
        until = state.time + self._time_model.idle_duration
        if self.has_future_arrivals:
            until = min(until, self._arrival[state.n_arrived])
        duration = until - state.time
        latency = self.n_present * duration
        state.time = until
        state.last_duration = duration
        latency += self._arrive_until(until)
        self._skip_idle_gap()
        return RoundReport(duration, latency, (), (), (), (), ran=False)

    def _start(self, request: int) -> None:
        state = self.state
        now = state.round_index
        self._status[request] = RUNNING
        state.unqueue(request)
        state.start_round[request] = now
        self._start_round[request] = now
        state.running[request] = None
        prompt = self._prompt[request]
        self._running_start += now
        self._start_time[request] = state.time
        # A request evicted after outliving its prediction keeps the raised length: it was
        # seen to produce that many tokens without finishing (docs/model.md section 5).
        length = max(self._clipped_prediction[request], self._lengths[request])
        state.predicted_length[request] = length
        self._lengths[request] = length
        end = now + length
        state.profile.add(prompt, now, now, end)
        state.max_predicted_end = max(state.max_predicted_end, end)
        self._finishing.setdefault(now + self._output[request], []).append(request)
        self._predicted_end.setdefault(end, []).append(request)

    def _leave(self, request: int) -> None:
        """Take a running request out of the running set and the predicted profile."""
        state = self.state
        start = self._start_round[request]
        prompt = self._prompt[request]
        state.profile.remove(prompt, start, state.round_index, start + self._lengths[request])
        del state.running[request]
        self._running_start -= start
        state.memory_in_use -= prompt + state.round_index - start
        state.start_round[request] = -1
        self._start_round[request] = -1
        if not state.running:
            state.max_predicted_end = state.round_index

    def _evict_for(self, need: int) -> tuple[int, list[int]]:
        state = self.state
        running = list(state.running)
        now = state.round_index
        start = self._start_round
        holding = [self._prompt[i] + now + 1 - start[i] for i in running]
        victims = self._eviction.victims(running, holding, need - state.memory, self._rng)
        for request in victims:
            produced = now - start[request]
            need -= self._prompt[request] + produced + 1
            self._leave(request)
            self._evicted[request] += 1
            self._evictions += 1
            self._tokens_discarded += produced
        if victims:
            state.requeue(victims)
        return need, victims

    def _finish_round(self, boundary: int, end_time: float) -> list[int]:
        state = self.state
        finished = []
        status = self._status
        for request in self._finishing.pop(boundary, ()):
            start = self._start_round[request]
            if status[request] != RUNNING or start + self._output[request] != boundary:
                continue  # a stale entry of a run that was evicted
            self._leave(request)
            status[request] = DONE
            state.n_finished += 1
            self._finish[request] = end_time
            finished.append(request)
        return finished

    def _extend_overruns(self, boundary: int) -> None:
        """Requests still running at their predicted end are now predicted to end next round."""
        state = self.state
        status = self._status
        lengths = self._lengths
        for request in self._predicted_end.pop(boundary, ()):
            start = self._start_round[request]
            if status[request] != RUNNING or start + lengths[request] != boundary:
                continue
            lengths[request] += 1
            state.predicted_length[request] += 1
            state.profile.add(self._prompt[request], start, boundary, boundary + 1)
            state.max_predicted_end = max(state.max_predicted_end, boundary + 1)
            self._predicted_end.setdefault(boundary + 1, []).append(request)

    def _arrive_until(self, time: float) -> float:
        """Mark requests arrived by ``time`` as waiting; return their latency accrued until it."""
        state = self.state
        arrival = self._arrival
        first = state.n_arrived
        last = first
        n = len(arrival)
        accrued = 0.0
        while last < n and arrival[last] <= time:
            accrued += time - arrival[last]
            last += 1
        if last > first:
            state.arrive(first, last)
            state.n_arrived = last
            self._next_arrival = arrival[last] if last < n else math.inf
        return accrued

    def _skip_idle_gap(self) -> None:
        """With nothing running or waiting, jump to the next arrival."""
        state = self.state
        if state.running or self.done or state.n_arrived - state.n_finished > 0:
            return
        state.time = max(state.time, self._arrival[state.n_arrived])
        self._arrive_until(state.time)
