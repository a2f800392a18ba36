"""The round being assembled at the current boundary: window, pending admissions, masks.

The environment never computes rounds, memory or time itself; it collects admissions for the
coming round here and hands them to ``Engine.run_round``. Between two rounds it only keeps:

- the waiting requests not yet chosen, in the window order (``"prediction"``: predicted output
  length ascending, ties by arrival then id, MC-SF's order; ``"arrival"``: FCFS);
- the requests chosen for the coming round (*pending*), in the order they were chosen;
- MC-SF's incremental look-ahead check (:class:`~mcsf_gym.core.lookahead.AdmissionCheck`)
  with the pending requests added, kept across the admission steps of the boundary.
"""

from __future__ import annotations

import numpy as np

from mcsf_gym.core.engine import Engine
from mcsf_gym.core.lookahead import AdmissionCheck


class Boundary:
    """Admissions for the coming round, and the rule that says which are allowed.

    Args:
        engine: the engine of the episode (at a round boundary).
        window: how many waiting requests the agent sees (``K``).
        order: ``"prediction"`` or ``"arrival"`` (see the module docstring).
        masking: ``"lookahead"`` (MC-SF's check with ``alpha``), ``"next-round"`` (the coming
            round fits in ``M``) or ``"none"`` (any waiting request).
        alpha: memory protection of the look-ahead check, in ``[0, 1)``.
        history: if given, ``(time, memory in use, waiting, running)`` is appended to it after
            every engine call (for rendering).
    """

    def __init__(
        self,
        engine: Engine,
        window: int,
        order: str,
        masking: str,
        alpha: float,
        history: list[tuple[float, int, int, int]] | None = None,
    ) -> None:
        self.engine = engine
        self.view = engine.view
        #: The number of window slots ``K``.
        self.size = window
        self.order_by_prediction = order == "prediction"
        self.masking = masking
        self.alpha = alpha
        self.history = history
        self.memory = self.view.memory
        self.base_duration = engine.config.resolved_time_model.idle_duration
        self.last_duration = 0.0
        #: Counts the boundaries opened so far (observations cache per-boundary summaries).
        self.epoch = 0
        self.pending: list[int] = []
        self.pending_tokens = 0
        #: Prompt sizes and arrival times of all requests, as lists (fast scalar access).
        self.prompts: list[int] = self.view.prompt.tolist()
        self.arrivals: list[float] = self.view.arrival.tolist()
        self._prompt = self.prompts
        # The engine's public running set (admission order), as ``view.running`` reads it.
        self._running = engine.state.running
        self._queue: list[int] = []
        # The engine's public predicted lengths (what ``view.predicted_length`` returns).
        self._lengths = engine.state.predicted_length
        self._fits: dict[int, bool] = {}
        self.check: AdmissionCheck = self.view.admission_check(alpha)
        self._window_cache: list[int] | None = None
        self._valid_cache: list[bool] | None = None
        self._lookahead_cache: list[bool] | None = None
        self._record()
        self._open()

    # ----------------------------------------------------------------- queries
    @property
    def done(self) -> bool:
        """Whether every request has finished."""
        return self.engine.done

    @property
    def n_waiting(self) -> int:
        """Waiting requests not chosen for the coming round."""
        return len(self._queue)

    def window(self) -> list[int]:
        """Ids of the requests in the window, slot by slot (at most ``window`` of them)."""
        if self._window_cache is None:
            self._window_cache = self._queue[: self.size]
        return self._window_cache

    def is_valid(self, request: int) -> bool:
        """Whether admitting waiting ``request`` now is allowed by the masking rule.

        When nothing runs and nothing is pending, every waiting request is allowed: it fits in
        ``M`` on its own, and refusing it could wait forever (MC-SF admits it likewise).
        """
        if self.masking == "none" or (not self.pending and not self._running):
            return True
        if self.masking == "lookahead":
            return self.fits_lookahead(request)
        return self.fits_next_round(request)

    def fits_lookahead(self, request: int) -> bool:
        """Whether MC-SF's look-ahead check (with the pending requests) holds with ``request``."""
        fits = self._fits.get(request)
        if fits is None:
            fits = self.check.fits(self._prompt[request], int(self._lengths[request]))
            self._fits[request] = fits
        return fits

    def fits_next_round(self, request: int) -> bool:
        """Whether the coming round fits in ``M`` with the pending requests and ``request``."""
        return self.next_round_tokens() + self._prompt[request] + 1 <= self.memory

    def next_round_tokens(self) -> int:
        """KV tokens the running and pending requests will hold after the coming round."""
        return self.view.memory_next_round + self.pending_tokens

    def slot_valid(self) -> list[bool]:
        """For each occupied slot: whether the masking rule allows it."""
        if self._valid_cache is None:
            self._valid_cache = [self.is_valid(request) for request in self.window()]
        return self._valid_cache

    def slot_fits_lookahead(self) -> list[bool]:
        """For each occupied slot: whether the look-ahead check holds (whatever the masking)."""
        if self._lookahead_cache is None:
            self._lookahead_cache = [self.fits_lookahead(request) for request in self.window()]
        return self._lookahead_cache

    def predicted_length(self, request: int) -> int:
        """The predicted output length the look-ahead check uses for a waiting request."""
        return int(self._lengths[request])

    # ----------------------------------------------------------------- actions
    def admit(self, request: int) -> None:
        """Choose waiting ``request`` for the coming round (it is pending until :meth:`advance`).

        Raises:
            ValueError: if ``request`` is not waiting or is already pending.
        """
        try:
            self._queue.remove(request)
        except ValueError:
            raise ValueError(f"request {request} is not waiting or is already pending") from None
        prompt = self._prompt[request]
        self.pending.append(request)
        self.pending_tokens += prompt + 1
        self.check.add(prompt, int(self._lengths[request]))
        self._fits.clear()
        self._changed()

    def advance(self) -> tuple[float, int]:
        """Run the coming round with the pending requests, then every round until one waits.

        Like ``simulate``, the environment only stops at boundaries where some request waits
        (or when the episode is over). With nothing running and nothing pending the engine
        idles instead (until the next arrival, or one empty round).

        Returns:
            The latency accrued by all requests meanwhile, and the number of rounds run.
        """
        engine = self.engine
        state = engine.state
        report = engine.run_round(self.pending)
        latency = report.latency
        rounds = int(report.ran)
        if report.duration > 0:
            self.last_duration = report.duration
        self._record()
        while not engine.done and state.n_arrived - state.n_finished == len(state.running):
            report = engine.run_round(())
            latency += report.latency
            rounds += int(report.ran)
            self.last_duration = report.duration
            self._record()
        self._open()
        return latency, rounds

    # ----------------------------------------------------------------- internals
    def _open(self) -> None:
        """Start a new boundary: order the waiting requests, fresh check, nothing pending."""
        view = self.view
        waiting = view.waiting
        if self.order_by_prediction and waiting.size > 1:
            waiting = waiting[np.argsort(view.prediction[waiting], kind="stable")]
        self._queue = waiting.tolist()
        self.pending = []
        self.pending_tokens = 0
        self.epoch += 1
        self.check = view.admission_check(self.alpha)
        self._fits.clear()
        self._changed()

    def _changed(self) -> None:
        self._window_cache = None
        self._valid_cache = None
        self._lookahead_cache = None

    def _record(self) -> None:
        if self.history is not None:
            view = self.view
            waiting = view.n_arrived - view.n_finished - view.n_running
            self.history.append((view.time, view.memory_in_use, waiting, view.n_running))
