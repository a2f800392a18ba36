"""Length models: joint draws of (prompt, output) token counts that fit in ``M``.

``make_lengths("lmsys", memory)`` gives an LMSYS-Chat-1M-like distribution;
``make_lengths("trace:PATH_OR_URL", memory)`` resamples (prompt, output) pairs of a trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.workloads import validation
from mcsf_gym.workloads.traces import load_trace

IntArray = NDArray[np.int64]

LENGTH_SPECS = ("lmsys", "trace:PATH_OR_URL")
"""The length specs :func:`make_lengths` understands."""


class LengthModel(Protocol):
    """Draws ``n`` (prompt, output) pairs with ``prompt + output <= M``."""

    def sample(self, n: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        """Draw ``n`` prompt sizes and ``n`` output lengths."""
        ...


def clip_to_memory(prompt: IntArray, output: IntArray, memory: int) -> tuple[IntArray, IntArray]:
    """Clip so every request fits: prompt to at most ``M - 1``, then output to ``M - prompt``."""
    prompt = np.minimum(prompt, memory - 1)
    return prompt, np.minimum(output, memory - prompt)


@dataclass(frozen=True)
class LogNormalLengths:
    """Independent discretised lognormal prompt and output lengths fit to a mean and a median.

    Each length is ``max(1, round(X))`` with ``X ~ LogNormal(mu, sigma)``,
    ``mu = ln(median)`` and ``sigma = sqrt(2 ln(mean / median))``, the continuous lognormal
    with exactly that median and mean. Rounding keeps the median (an integer) and moves the
    mean by under 0.1% for the defaults. Pairs are then clipped to ``M`` (prompt to ``M - 1``,
    output to ``M - prompt``), which at ``M = 16492`` touches about one request in 10^6.

    The defaults are the published statistics of the paper's LMSYS-Chat-1M subset (words as
    tokens): prompt mean 40.62 / median 11, output mean 85.32 / median 45. Prompt and output
    are drawn independently (the published statistics say nothing about their correlation).

    Args:
        memory: ``M`` in tokens.
        prompt_mean: mean prompt size, ``>= prompt_median``.
        prompt_median: median prompt size, ``>= 1``.
        output_mean: mean output length, ``>= output_median``.
        output_median: median output length, ``>= 1``.
    """

    memory: int = 16492
    prompt_mean: float = 40.62
    prompt_median: float = 11.0
    output_mean: float = 85.32
    output_median: float = 45.0

    def __post_init__(self) -> None:
        owner = "lognormal lengths"
        validation.integer(owner, "memory", self.memory, 2)
        for side in ("prompt", "output"):
            median = validation.number(owner, f"{side}_median", getattr(self, f"{side}_median"))
            mean = validation.number(owner, f"{side}_mean", getattr(self, f"{side}_mean"))
            if median < 1:
                validation.fail(owner, f"{side}_median", median, ">= 1")
            validation.ordered(owner, f"{side}_median", median, f"{side}_mean", mean)

    @staticmethod
    def parameters(mean: float, median: float) -> tuple[float, float]:
        """``(mu, sigma)`` of the lognormal with this mean and median."""
        return math.log(median), math.sqrt(2.0 * math.log(mean / median))

    def _draw(self, mean: float, median: float, n: int, rng: np.random.Generator) -> IntArray:
        mu, sigma = self.parameters(mean, median)
        return np.maximum(1, np.round(rng.lognormal(mu, sigma, size=n))).astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        """Draw ``n`` prompts, then ``n`` outputs, and clip the pairs to ``M``."""
        prompt = self._draw(self.prompt_mean, self.prompt_median, n, rng)
        output = self._draw(self.output_mean, self.output_median, n, rng)
        return clip_to_memory(prompt, output, self.memory)


@dataclass(frozen=True, eq=False)
class TraceLengths:
    """Resamples (prompt, output) pairs of a trace uniformly with replacement.

    Pairs stay together, so the trace's correlation between prompt and output is kept.
    Build one from a file or URL with :meth:`from_trace`.

    Args:
        prompt: the trace's prompt sizes (already fitting in ``M``).
        output: the trace's output lengths.
    """

    prompt: IntArray
    output: IntArray

    @classmethod
    def from_trace(
        cls, source: str, memory: int, on_oversize: str = "error", format: str = "auto"
    ) -> TraceLengths:
        """Load the pairs of a trace (see :func:`~mcsf_gym.workloads.traces.load_trace`)."""
        result = load_trace(source, format=format, memory=memory, on_oversize=on_oversize)
        return cls(result.instance.prompt, result.instance.output)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        """Draw ``n`` pairs (row indices uniform with replacement)."""
        rows = rng.integers(0, self.prompt.size, size=n)
        return self.prompt[rows], self.output[rows]


def make_lengths(spec: str, memory: int, on_oversize: str = "error") -> LengthModel:
    """A length model from ``"lmsys"`` or ``"trace:PATH_OR_URL"``, for memory ``M``.

    Args:
        spec: ``"lmsys"`` (:class:`LogNormalLengths` with LMSYS defaults) or
            ``"trace:PATH_OR_URL"`` (:class:`TraceLengths`; the trace is read now).
        memory: ``M``; drawn pairs satisfy ``prompt + output <= M``.
        on_oversize: for traces, what to do with rows that do not fit: ``"error"``,
            ``"drop"`` or ``"clip"``.

    Raises:
        ValueError: for an unknown spec (listing the known ones) or an unreadable trace.
    """
    if spec == "lmsys":
        return LogNormalLengths(memory=memory)
    if isinstance(spec, str) and spec.startswith("trace:") and len(spec) > len("trace:"):
        return TraceLengths.from_trace(spec[len("trace:") :], memory, on_oversize)
    raise ValueError(f"unknown lengths {spec!r}; known lengths: {', '.join(LENGTH_SPECS)}")
