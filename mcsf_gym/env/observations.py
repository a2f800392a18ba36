"""Observation types (HighwayEnv-style, chosen by name): ``"flat"`` (Box) and ``"dict"``.

Both encode the same features, every one in ``[0, 1]`` (``K`` window slots, ``B`` bins):

====================  =======================================================================
global (8)            memory in use / M; memory of the coming round (running + pending) / M;
                      predicted peak memory (running + pending, look-ahead) / M; waiting (not
                      pending) ``w / (w + K)``; pending ``p / (p + K)``; running ``r / (r + K)``;
                      time since the first arrival ``x / (x + time_scale)``; duration of the
                      latest round or idle wait ``x / (x + 1)`` (``x`` in base rounds, below)
window (K x 6)        per slot: occupied; ``log(1 + s) / log(1 + M)`` (prompt);
                      ``log(1 + õ) / log(1 + M)`` (predicted length, clipped to ``M - s``);
                      waited ``x / (x + time_scale)``; the look-ahead check holds with it;
                      the coming round fits in ``M`` with it. Empty slots are all zero.
running (2 x B)       running requests binned by predicted remaining tokens (bin ``b`` holds
                      ``2^b .. 2^(b+1) - 1``, the last bin is open): the fraction of running
                      requests in each bin, then the memory they hold / M
====================  =======================================================================

Times are measured in *base rounds*: rounds in the ``unit`` time model, and in the ``linear``
model multiples of an empty round's duration (44.6 ms for the default preset). Values that
can exceed 1 (memory with overrunning predictions or unmasked admissions) are clipped at 1.
Predictions are what the agent sees; true output lengths never are.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from mcsf_gym.env.boundary import Boundary
from mcsf_gym.registry import Registry

GLOBAL_FEATURES = (
    "memory_in_use",
    "memory_next_round",
    "predicted_peak",
    "waiting",
    "pending",
    "running",
    "time",
    "last_duration",
)
SLOT_FEATURES = ("occupied", "prompt", "prediction", "waited", "fits_lookahead", "fits_next_round")


class FeatureEncoder:
    """Computes the feature vector shared by the observation types.

    Args:
        window: the number of window slots ``K``.
        bins: the number of remaining-token bins ``B`` of the running-set summary.
        time_scale: the time, in base rounds, at which a time feature reaches 0.5.

    Raises:
        ValueError: for ``bins < 1`` or ``time_scale <= 0``.
    """

    def __init__(self, window: int, bins: int = 8, time_scale: float = 64.0) -> None:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"observation bins must be an integer >= 1, got {bins!r}")
        if not isinstance(time_scale, (int, float)) or not time_scale > 0:
            raise ValueError(f"observation time_scale must be > 0, got {time_scale!r}")
        self.window = window
        self.bins = bins
        self.time_scale = float(time_scale)
        self.n_global = len(GLOBAL_FEATURES)
        self.size = self.n_global + window * len(SLOT_FEATURES) + 2 * bins
        self._empty_slots = [0.0] * (window * len(SLOT_FEATURES))
        # The running-set summary of the last boundary seen (a strong reference, so the
        # identity test cannot be fooled by a recycled object id).
        self._running_boundary: Boundary | None = None
        self._running_epoch = -1
        self._running: list[float] = []
        # The episode (its view) of the cached ``log(1 + s) / log(1 + M)`` per request.
        self._episode_view: object | None = None
        self._log_prompt: list[float] = []

    def names(self) -> list[str]:
        """The name of every entry of the flat vector, in order."""
        names = list(GLOBAL_FEATURES)
        names += [f"slot{k}.{f}" for k in range(self.window) for f in SLOT_FEATURES]
        edges = [f"{2**b}-{2 ** (b + 1) - 1}" for b in range(self.bins - 1)]
        edges.append(f"{2 ** (self.bins - 1)}+")
        names += [f"running.count[{e}]" for e in edges]
        names += [f"running.memory[{e}]" for e in edges]
        return names

    def encode(self, boundary: Boundary) -> NDArray[np.float32]:
        """The feature vector of the current state (a fresh array)."""
        return np.array(self.values(boundary), dtype=np.float32)

    def values(self, boundary: Boundary) -> list[float]:
        """The feature vector of the current state, as a list of Python floats."""
        view = boundary.view
        memory = boundary.memory
        window = self.window
        scale = self.time_scale
        base = boundary.base_duration
        now = view.time
        n_running = view.n_running
        n_waiting = boundary.n_waiting
        n_pending = len(boundary.pending)
        next_round = boundary.next_round_tokens()
        elapsed = max(0.0, now - boundary.arrivals[0]) / base
        last = boundary.last_duration / base
        values = [
            view.memory_in_use / memory,
            min(1.0, next_round / memory),
            min(1.0, boundary.check.peak() / memory),
            n_waiting / (n_waiting + window),
            n_pending / (n_pending + window),
            n_running / (n_running + window),
            elapsed / (elapsed + scale),
            last / (last + 1.0),
        ]
        log_memory = math.log1p(memory)
        log_prompts = self._log_prompts(boundary)
        length = view.predicted_length_of
        prompts = boundary.prompts
        arrivals = boundary.arrivals
        # The coming round fits with a request of prompt s when s <= limit.
        limit = memory - next_round - 1
        slots = boundary.window()
        for request, fits in zip(slots, boundary.slot_fits_lookahead(), strict=True):
            waited = (now - arrivals[request]) / base
            values += (
                1.0,
                log_prompts[request],
                math.log1p(length(request)) / log_memory,
                waited / (waited + scale),
                1.0 if fits else 0.0,
                1.0 if prompts[request] <= limit else 0.0,
            )
        values += self._empty_slots[: (window - len(slots)) * len(SLOT_FEATURES)]
        values += self._running_summary(boundary)
        return values

    def _log_prompts(self, boundary: Boundary) -> list[float]:
        """``log(1 + s) / log(1 + M)`` of every request of the episode (cached per episode)."""
        if boundary.view is not self._episode_view:
            self._episode_view = boundary.view
            log_memory = math.log1p(boundary.memory)
            self._log_prompt = [math.log1p(prompt) / log_memory for prompt in boundary.prompts]
        return self._log_prompt

    def _running_summary(self, boundary: Boundary) -> list[float]:
        """Histograms of the running set (changes only between boundaries, so cached)."""
        if boundary is self._running_boundary and boundary.epoch == self._running_epoch:
            return self._running
        self._running_boundary = boundary
        self._running_epoch = boundary.epoch
        view = boundary.view
        if not view.n_running:
            self._running = [0.0] * (2 * self.bins)
            return self._running
        ids = view.running
        memory = boundary.memory
        if ids.size <= _LOOP_LIMIT:
            counts, held = _summary_loop(self.bins, boundary, ids)
        else:
            counts, held = _summary_vectorised(self.bins, boundary, ids)
        share = 1.0 / ids.size
        self._running = [c * share for c in counts] + [min(1.0, h / memory) for h in held]
        return self._running


# Below this many running requests a Python loop beats numpy's per-call overhead.
_LOOP_LIMIT = 24


def _summary_loop(
    bins: int, boundary: Boundary, ids: NDArray[np.int64]
) -> tuple[list[float], list[float]]:
    """Running requests ``ids`` and the memory they hold, per bin of predicted tokens left.

    Bin ``b`` holds ``2^b .. 2^(b+1) - 1`` tokens left, the last bin is open.
    """
    view = boundary.view
    now = view.round_index
    length = view.predicted_length_of
    prompts = boundary.prompts
    counts = [0.0] * bins
    memory = [0.0] * bins
    for request, start in zip(ids.tolist(), view.start_round[ids].tolist(), strict=True):
        produced = now - start
        index = min(max(length(request) - produced, 1).bit_length() - 1, bins - 1)
        counts[index] += 1.0
        memory[index] += prompts[request] + produced
    return counts, memory


def _summary_vectorised(
    bins: int, boundary: Boundary, ids: NDArray[np.int64]
) -> tuple[list[float], list[float]]:
    """:func:`_summary_loop` with numpy, for large running sets."""
    view = boundary.view
    produced = view.produced(ids)
    remaining = view.predicted_length(ids) - produced
    index = np.minimum(np.log2(np.maximum(remaining, 1)).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    memory = np.bincount(index, weights=view.prompt[ids] + produced, minlength=bins)
    return counts.tolist(), memory.tolist()


class ObservationType(ABC):
    """Turns the state at a boundary into an observation.

    Args:
        window: the number of window slots ``K``.
        bins: bins of the running-set summary.
        time_scale: time, in base rounds, at which a time feature reaches 0.5.
    """

    def __init__(self, window: int, bins: int = 8, time_scale: float = 64.0) -> None:
        self.encoder = FeatureEncoder(window, bins, time_scale)

    @abstractmethod
    def space(self) -> spaces.Space:
        """The observation space."""

    @abstractmethod
    def observe(self, boundary: Boundary) -> Any:
        """The observation of the current state."""

    @abstractmethod
    def from_flat(self, flat: NDArray[np.float32]) -> Any:
        """The observation whose flat feature vector is ``flat`` (a fresh array it may keep)."""


class FlatObservation(ObservationType):
    """``Box(0, 1, (8 + 6 K + 2 B,), float32)``: the features in the module's table order."""

    def space(self) -> spaces.Box:
        """The flat box."""
        return spaces.Box(0.0, 1.0, shape=(self.encoder.size,), dtype=np.float32)

    def observe(self, boundary: Boundary) -> NDArray[np.float32]:
        """The flat feature vector."""
        return self.encoder.encode(boundary)

    def from_flat(self, flat: NDArray[np.float32]) -> NDArray[np.float32]:
        """``flat`` itself."""
        return flat


class DictObservation(ObservationType):
    """A ``Dict`` of 1-D ``[0, 1]`` boxes: the same numbers as ``"flat"``, by feature.

    Keys: ``"global"`` (8,), one ``(K,)`` array per slot feature (``"occupied"``,
    ``"prompt"``, ``"prediction"``, ``"waited"``, ``"fits_lookahead"``,
    ``"fits_next_round"``, slot by slot), ``"running_count"`` (B,) and ``"running_memory"`` (B,).
    """

    def space(self) -> spaces.Dict:
        """The dict of boxes."""
        encoder = self.encoder
        shapes = {"global": encoder.n_global}
        shapes.update({name: encoder.window for name in SLOT_FEATURES})
        shapes.update({"running_count": encoder.bins, "running_memory": encoder.bins})
        return spaces.Dict(
            {
                name: spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
                for name, size in shapes.items()
            }
        )

    def observe(self, boundary: Boundary) -> dict[str, NDArray[np.float32]]:
        """The features, split by kind."""
        return self.from_flat(self.encoder.encode(boundary))

    def from_flat(self, flat: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        """The flat features ``flat``, split by kind."""
        encoder = self.encoder
        start = encoder.n_global
        stop = start + encoder.window * len(SLOT_FEATURES)
        slots = flat[start:stop].reshape(encoder.window, len(SLOT_FEATURES))
        observation = {"global": flat[:start]}
        for column, name in enumerate(SLOT_FEATURES):
            observation[name] = slots[:, column].copy()
        observation["running_count"] = flat[stop : stop + encoder.bins]
        observation["running_memory"] = flat[stop + encoder.bins :]
        return observation


#: Observation types by name: ``"flat"`` (default) and ``"dict"``; parameters ``bins`` and
#: ``time_scale`` (e.g. ``"flat:bins=6,time_scale=128"``).
OBSERVATIONS: Registry[ObservationType] = Registry("observation type")
OBSERVATIONS.register("flat", FlatObservation)
OBSERVATIONS.register("dict", DictObservation)
