"""The round being assembled at the current boundary: window, pending admissions, masks.

A :class:`Boundary` reads only a :class:`~mcsf_gym.core.view.StateView`, so the same code
serves the environment (which drives an engine, :mod:`mcsf_gym.env.stepping`) and
:class:`~mcsf_gym.env.policy.PolicyScheduler` (which runs a policy under ``simulate``). It
never computes rounds, memory or time; it keeps, between two rounds:

- the waiting requests not yet chosen, in the window order (``"prediction"``: predicted output
  length ascending, ties by arrival then id, MC-SF's order; ``"arrival"``: FCFS);
- the requests chosen for the coming round (*pending*), in the order they were chosen;
- MC-SF's incremental look-ahead check with the pending requests added, kept across the
  admission steps of the boundary (the core's :class:`~mcsf_gym.core.lookahead.AdmissionCheck`,
  asked about the whole window at once with ``fits_many``);
- the window and its masks for the current admissions, computed once and kept until the next
  admission (observations, masks and rendering all read them).

Call :meth:`Boundary.open` whenever the view has moved to a new boundary (or the engine sent
everything back and asks again at the same one).
"""

from __future__ import annotations

from mcsf_gym.core.lookahead import AdmissionCheck
from mcsf_gym.core.view import StateView


class Boundary:
    """Admissions for the coming round, and the rule that says which are allowed.

    Args:
        view: the engine's view (at a round boundary); the boundary is opened on it.
        window: how many waiting requests the agent sees (``K``).
        order: ``"prediction"`` or ``"arrival"`` (see the module docstring).
        masking: ``"lookahead"`` (MC-SF's check with ``alpha``), ``"next-round"`` (the coming
            round fits in ``M``) or ``"none"`` (any waiting request).
        alpha: memory protection of the look-ahead check, in ``[0, 1)``.
        allow_idle: whether admission may close with nothing running and nothing pending while
            requests wait (the worker then idles); ``False`` (work-conserving) forbids it.

    Raises:
        ValueError: if ``alpha`` is not in ``[0, 1)``.
    """

    def __init__(
        self,
        view: StateView,
        window: int,
        order: str,
        masking: str,
        alpha: float,
        *,
        allow_idle: bool = False,
    ) -> None:
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        self.view = view
        self.allow_idle = allow_idle
        #: The number of window slots ``K``.
        self.size = window
        self.order_by_prediction = order == "prediction"
        self.masking = masking
        self.alpha = alpha
        self.memory = view.memory
        #: Counts the boundaries opened so far (observations cache per-boundary summaries).
        self.epoch = 0
        #: Counts the changes (openings and admissions): equal versions, equal masks.
        self.version = 0
        self.pending: list[int] = []
        self.pending_tokens = 0
        #: Prompt sizes and arrival times of all requests (fast scalar access).
        self.prompts: tuple[int, ...] = view.prompts
        self.arrivals: list[float] = view.arrival.tolist()
        self._queue: list[int] = []
        #: MC-SF's look-ahead check with the pending requests added (set by :meth:`open`).
        self.check: AdmissionCheck
        self._window: list[int] | None = None
        self._valid: list[bool] | None = None
        self._lookahead: list[bool] | None = None
        self.open()

    # ----------------------------------------------------------------- queries
    @property
    def base_duration(self) -> float:
        """The duration of an empty round: observations measure time in these units."""
        return self.view.idle_duration

    @property
    def last_duration(self) -> float:
        """The time that passed in the latest round or idle wait (0 before the first)."""
        return self.view.last_duration

    @property
    def n_waiting(self) -> int:
        """Waiting requests not chosen for the coming round."""
        return len(self._queue)

    def must_admit(self) -> bool:
        """Whether closing admission now would idle the worker while a request waits.

        True when idling is not allowed (``allow_idle=False``), nothing runs, nothing is
        pending and a request waits: then some request must be admitted first.
        """
        return (
            not self.allow_idle
            and not self.pending
            and not self.view.n_running
            and bool(self._queue)
        )

    def window(self) -> list[int]:
        """Ids of the requests in the window, slot by slot (at most ``window`` of them)."""
        if self._window is None:
            self._window = self._queue[: self.size]
        return self._window

    def _unconstrained(self) -> bool:
        """Whether the masking rule allows every waiting request now."""
        return self.masking == "none" or (not self.pending and not self.view.n_running)

    def is_valid(self, request: int) -> bool:
        """Whether admitting waiting ``request`` now is allowed by the masking rule.

        When nothing runs and nothing is pending, every waiting request is allowed: it fits in
        ``M`` on its own, and refusing it could wait forever (MC-SF admits it likewise).
        """
        if self._unconstrained():
            return True
        if self.masking == "lookahead":
            return self.fits_lookahead(request)
        return self.fits_next_round(request)

    def fits_lookahead(self, request: int) -> bool:
        """Whether MC-SF's look-ahead check (with the pending requests) holds with ``request``."""
        return self.check.fits(self.prompts[request], self.view.predicted_length_of(request))

    def fits_next_round(self, request: int) -> bool:
        """Whether the coming round fits in ``M`` with the pending requests and ``request``."""
        return self.next_round_tokens() + self.prompts[request] + 1 <= self.memory

    def next_round_tokens(self) -> int:
        """KV tokens the running and pending requests will hold after the coming round."""
        return self.view.memory_next_round + self.pending_tokens

    def slot_valid(self) -> list[bool]:
        """For each occupied slot: whether the masking rule allows it."""
        if self._valid is None:
            if self._unconstrained():
                self._valid = [True] * len(self.window())
            elif self.masking == "lookahead":
                self._valid = self.slot_fits_lookahead()
            else:
                limit = self.memory - self.next_round_tokens() - 1
                prompts = self.prompts
                self._valid = [prompts[request] <= limit for request in self.window()]
        return self._valid

    def slot_fits_lookahead(self) -> list[bool]:
        """For each occupied slot: whether the look-ahead check holds (whatever the masking)."""
        if self._lookahead is None:
            window = self.window()
            prompts = self.prompts
            length = self.view.predicted_length_of
            self._lookahead = self.check.fits_many(
                [prompts[request] for request in window], [length(request) for request in window]
            )
        return self._lookahead

    def predicted_length(self, request: int) -> int:
        """The predicted output length the look-ahead check uses for a waiting request."""
        return self.view.predicted_length_of(request)

    # ----------------------------------------------------------------- changes
    def admit(self, request: int) -> None:
        """Choose waiting ``request`` for the coming round (it stays pending until it runs).

        Raises:
            ValueError: if ``request`` is not waiting or is already pending.
        """
        try:
            self._queue.remove(request)
        except ValueError:
            raise ValueError(f"request {request} is not waiting or is already pending") from None
        prompt = self.prompts[request]
        self.pending.append(request)
        self.pending_tokens += prompt + 1
        self.check.add(prompt, self.view.predicted_length_of(request))
        self._changed()

    def open(self) -> None:
        """Start a new boundary from the view: order the waiting requests, nothing pending."""
        view = self.view
        queue = list(view.iter_waiting())
        if self.order_by_prediction and len(queue) > 1:
            # Python's sort is stable: ties keep arrival (id) order, as MC-SF's order says.
            queue.sort(key=view.predictions.__getitem__)
        self._queue = queue
        self.pending = []
        self.pending_tokens = 0
        self.epoch += 1
        self.check = view.admission_check(self.alpha)
        self._changed()

    # ----------------------------------------------------------------- internals
    def _changed(self) -> None:
        self.version += 1
        self._window = None
        self._valid = None
        self._lookahead = None
