"""Prediction models for output lengths (docs/model.md section 4), seeded and reproducible.

Each model maps true output lengths ``o`` and a ``numpy.random.Generator`` to predictions
``õ >= 1`` and optional lower bounds ``l``. Use :func:`make_predictor` with a spec such as
``"exact"``, ``"upper:alpha=2"``, ``"noisy:eps=0.5"`` or ``"interval:eps=0.5"``, then
:func:`apply_predictions` to give an instance its predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.core.checks import check_real
from mcsf_gym.core.instance import Instance
from mcsf_gym.registry import Registry

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class ExactPrediction:
    """``õ = o``: the scheduler knows every output length (the paper's main setting)."""

    def predict(self, output: IntArray, rng: np.random.Generator) -> tuple[IntArray, None]:
        """Return the true lengths as predictions."""
        return output.copy(), None


@dataclass(frozen=True)
class UpperPrediction:
    """``õ = ceil(o * U)``, ``U ~ Uniform[1, alpha]``: an over-estimate, ``o <= õ <= alpha o``.

    Args:
        alpha: the largest over-estimation factor, in ``[1, 1e6]``.
    """

    alpha: float = 2.0

    def __post_init__(self) -> None:
        alpha = check_real("upper prediction alpha", self.alpha, low=1, high=1e6)
        object.__setattr__(self, "alpha", alpha)

    def predict(self, output: IntArray, rng: np.random.Generator) -> tuple[IntArray, None]:
        """Draw over-estimates."""
        factor = rng.uniform(1.0, self.alpha, size=output.size)
        return np.ceil(output * factor - 1e-9).astype(np.int64), None


@dataclass(frozen=True)
class NoisyPrediction:
    """``õ = max(1, round(o * (1 + eps U)))``, ``U ~ Uniform[-1, 1]`` (the paper used 0.2/0.5/0.8).

    Args:
        eps: relative noise level, in ``[0, 1e6]``.
    """

    eps: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "eps", check_real("noisy prediction eps", self.eps, low=0, high=1e6)
        )

    def predict(self, output: IntArray, rng: np.random.Generator) -> tuple[IntArray, None]:
        """Draw noisy predictions."""
        noise = rng.uniform(-1.0, 1.0, size=output.size)
        return np.maximum(1, np.round(output * (1.0 + self.eps * noise))).astype(np.int64), None


@dataclass(frozen=True)
class IntervalPrediction:
    """An interval ``[l, u]``: ``l = max(1, floor(o (1 - eps U1)))``, ``u = ceil(o (1 + eps U2))``.

    The prediction ``õ`` is the upper end ``u``; ``l`` is exposed as the lower bound.

    Args:
        eps: relative width, in ``[0, 1]``.
    """

    eps: float = 0.5

    def __post_init__(self) -> None:
        eps = check_real("interval prediction eps", self.eps, low=0, high=1)
        object.__setattr__(self, "eps", eps)

    def predict(self, output: IntArray, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
        """Draw intervals; returns ``(upper, lower)``."""
        u1 = rng.uniform(0.0, 1.0, size=output.size)
        u2 = rng.uniform(0.0, 1.0, size=output.size)
        lower = np.maximum(1, np.floor(output * (1.0 - self.eps * u1) + 1e-9)).astype(np.int64)
        upper = np.ceil(output * (1.0 + self.eps * u2) - 1e-9).astype(np.int64)
        return upper, lower


Predictor = ExactPrediction | UpperPrediction | NoisyPrediction | IntervalPrediction

PREDICTORS: Registry[Predictor] = Registry("prediction model")
PREDICTORS.register("exact", ExactPrediction)
PREDICTORS.register("upper", UpperPrediction)
PREDICTORS.register("noisy", NoisyPrediction)
PREDICTORS.register("interval", IntervalPrediction)


def make_predictor(spec: str | Predictor) -> Predictor:
    """A prediction model from a spec like ``"noisy:eps=0.5"``, or the model itself.

    Raises:
        ValueError: for an unknown name, a bad parameter, or an object without ``predict``.
    """
    if isinstance(spec, str):
        return PREDICTORS.make_shared(spec)  # frozen: one object per spec
    if not callable(getattr(spec, "predict", None)):
        raise ValueError(
            f"prediction must be a model name ({', '.join(PREDICTORS.names())}) or a model "
            f"object, got {spec!r}"
        )
    return spec


def apply_predictions(
    instance: Instance, predictor: str | Predictor, rng: np.random.Generator
) -> Instance:
    """The instance with predictions drawn from ``predictor`` using ``rng``."""
    prediction, lower = make_predictor(predictor).predict(instance.output, rng)
    return instance.with_predictions(prediction, lower)
