"""A problem instance: the requests, as validated read-only arrays (docs/model.md section 1)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mcsf_gym.core.checks import MAX_ARRIVAL, MAX_TOKENS


def _show(value: Any) -> str:
    """A number as written: integers in full, floats in ``%g`` form."""
    value = value.item() if isinstance(value, np.generic) else value
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_array(name: str, values: ArrayLike) -> NDArray[Any]:
    """``values`` as a one-dimensional array of real numbers, refusing booleans and text."""
    if isinstance(values, (list, tuple)):
        for i, value in enumerate(values):
            if isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"{name}[{i}] = {value!r} is a boolean, not a number (request {i})"
                )
    try:
        array = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{name} is not a one-dimensional array of numbers ({error})") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind == "b":
        raise ValueError(f"{name} holds booleans, not numbers")
    if array.dtype.kind == "O":
        for i, value in enumerate(array.tolist()):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"{name}[{i}] = {value!r} is not a number (request {i})")
    elif array.dtype.kind not in "iuf":
        shown = f"{name}[0] = {array[0].item()!r}" if array.size else name
        raise ValueError(f"{shown} is not a number (an array of dtype {array.dtype})")
    return array


def _as_integer_array(name: str, values: ArrayLike, minimum: int) -> NDArray[np.int64]:
    """``values`` as a read-only int64 array of exact integers in ``[minimum, MAX_TOKENS]``.

    Integers are compared exactly (no float rounding: ``2**53 + 1`` is refused as too large, not
    read as ``2**53``); integral floats such as ``3.0`` are accepted.
    """
    array = _as_array(name, values)
    if array.dtype.kind == "O":
        exact = [value if isinstance(value, numbers.Integral) else float(value) for value in array]
        for i, value in enumerate(exact):
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                raise ValueError(f"{name}[{i}] = {value!r} is not an integer (request {i})")
            if not minimum <= value <= MAX_TOKENS:
                raise ValueError(
                    f"{name}[{i}] = {value!r} must be in [{minimum}, {MAX_TOKENS}] (request {i})"
                )
        array = np.array([int(value) for value in exact], dtype=np.int64)
    elif array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            i = _first(bad)
            raise ValueError(f"{name}[{i}] = {array[i]} is not a finite number (request {i})")
        bad = array != np.round(array)
        if bad.any():
            i = _first(bad)
            raise ValueError(f"{name}[{i}] = {array[i]} is not an integer (request {i})")
    if array.dtype.kind != "O":
        bad = (array < minimum) | (array > MAX_TOKENS)
        if bad.any():
            i = _first(bad)
            raise ValueError(
                f"{name}[{i}] = {_show(array[i])} must be in [{minimum}, {MAX_TOKENS}] "
                f"(request {i})"
            )
    result = array.astype(np.int64)
    result.flags.writeable = False
    return result


def _as_arrival_array(values: ArrayLike) -> NDArray[np.float64]:
    """``values`` as a read-only float64 array of sorted arrivals in ``[0, MAX_ARRIVAL]``."""
    raw = _as_array("arrival", values)
    array = np.array(raw.tolist() if raw.dtype.kind == "O" else raw, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        i = _first(bad)
        raise ValueError(f"arrival[{i}] = {array[i]} is not a finite number (request {i})")
    bad = (array < 0) | (array > MAX_ARRIVAL)
    if bad.any():
        i = _first(bad)
        raise ValueError(
            f"arrival[{i}] = {array[i]:g} must be in [0, {MAX_ARRIVAL:g}] (request {i})"
        )
    if array.size > 1:
        drops = np.flatnonzero(np.diff(array) < 0)
        if drops.size:
            i = int(drops[0]) + 1
            raise ValueError(
                f"arrival must be sorted: arrival[{i}] = {array[i]:g} comes before "
                f"arrival[{i - 1}] = {array[i - 1]:g} (request {i})"
            )
    array.flags.writeable = False
    return array


class Instance:
    """The requests of one problem instance, validated on construction.

    Requests are numbered ``0..n-1`` in arrival order; ties keep the given order.

    Args:
        arrival: arrival times ``a_i >= 0``, sorted (integer rounds in the ``unit`` time model,
            seconds otherwise).
        prompt: prompt sizes ``s_i >= 1`` in tokens.
        output: true output lengths ``o_i >= 1`` in tokens (hidden from schedulers).
        prediction: predicted output lengths ``õ_i >= 1``; ``None`` means exact (``õ = o``).
        lower: optional lower bounds ``l_i`` with ``1 <= l_i <= õ_i`` (interval predictors).

    Sizes are exact integers in ``[1, MAX_TOKENS]`` (``2**31 - 1``); arrivals are finite, sorted
    and in ``[0, MAX_ARRIVAL]`` (``1e9``). Booleans and text are refused, not read as numbers.

    Raises:
        ValueError: naming the field, the request and the value, for NaN, negative, fractional,
            too small or too large sizes, booleans, unsorted, negative or too late arrivals and
            mismatched lengths.

    Example:
        >>> inst = Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])
        >>> inst.n, int(inst.prediction[0])
        (2, 3)
    """

    __slots__ = ("arrival", "lower", "output", "prediction", "prompt")

    arrival: NDArray[np.float64]
    prompt: NDArray[np.int64]
    output: NDArray[np.int64]
    prediction: NDArray[np.int64]
    lower: NDArray[np.int64] | None

    def __init__(
        self,
        arrival: ArrayLike,
        prompt: ArrayLike,
        output: ArrayLike,
        prediction: ArrayLike | None = None,
        lower: ArrayLike | None = None,
    ) -> None:
        arrival_array = _as_arrival_array(arrival)
        prompt_array = _as_integer_array("prompt", prompt, 1)
        output_array = _as_integer_array("output", output, 1)
        prediction_array = (
            output_array if prediction is None else _as_integer_array("prediction", prediction, 1)
        )
        lower_array = None if lower is None else _as_integer_array("lower", lower, 1)
        n = arrival_array.size
        if n == 0:
            raise ValueError("an instance needs at least one request, got arrival of length 0")
        for name, array in (
            ("prompt", prompt_array),
            ("output", output_array),
            ("prediction", prediction_array),
            ("lower", lower_array),
        ):
            if array is not None and array.size != n:
                raise ValueError(f"{name} has length {array.size}, but arrival has length {n}")
        if lower_array is not None:
            bad = lower_array > prediction_array
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"lower[{i}] = {lower_array[i]} exceeds prediction[{i}] = "
                    f"{prediction_array[i]} (request {i})"
                )
        object.__setattr__(self, "arrival", arrival_array)
        object.__setattr__(self, "prompt", prompt_array)
        object.__setattr__(self, "output", output_array)
        object.__setattr__(self, "prediction", prediction_array)
        object.__setattr__(self, "lower", lower_array)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Instance is immutable")

    @property
    def n(self) -> int:
        """Number of requests."""
        return int(self.arrival.size)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (
            f"Instance(n={self.n}, arrival=[{self.arrival[0]:g}..{self.arrival[-1]:g}], "
            f"prompt_mean={self.prompt.mean():.1f}, output_mean={self.output.mean():.1f})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instance):
            return NotImplemented
        same_lower = (self.lower is None and other.lower is None) or (
            self.lower is not None
            and other.lower is not None
            and np.array_equal(self.lower, other.lower)
        )
        return (
            same_lower
            and np.array_equal(self.arrival, other.arrival)
            and np.array_equal(self.prompt, other.prompt)
            and np.array_equal(self.output, other.output)
            and np.array_equal(self.prediction, other.prediction)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[Instance], tuple[Any, ...]]:
        # Rebuild through __init__: the slots cannot be restored by setattr (immutable).
        return (Instance, (self.arrival, self.prompt, self.output, self.prediction, self.lower))

    @property
    def total_tokens(self) -> int:
        """Sum of the true output lengths."""
        return int(self.output.sum())

    def check_memory(self, memory: int) -> None:
        """Raise ``ValueError`` if some request can never be served in ``memory`` tokens.

        A request needs ``s_i + o_i`` tokens at the end of its last round (docs/model.md section 1).
        """
        need = self.prompt + self.output
        bad = need > memory
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"request {i} can never be served: prompt {self.prompt[i]} + output "
                f"{self.output[i]} = {need[i]} > memory {memory} "
                f"({int(bad.sum())} such request(s))"
            )

    def check_integer_arrivals(self) -> None:
        """Raise ``ValueError`` unless every arrival is an integer (the ``unit`` time model)."""
        bad = self.arrival != np.round(self.arrival)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"arrival[{i}] = {self.arrival[i]:g} is not an integer round, as the unit "
                f"time model requires (request {i})"
            )

    def with_predictions(
        self, prediction: ArrayLike | None, lower: ArrayLike | None = None
    ) -> Instance:
        """This instance with other predictions (``None``: exact); itself if they are the same.

        Instances are immutable, so an unchanged one is returned as is (no new validation).
        """
        if lower is None and self.lower is None:
            same = self.output if prediction is None else np.asarray(prediction)
            if (
                same.dtype.kind in "iu"
                and same.shape == self.prediction.shape
                and np.array_equal(same, self.prediction)
            ):
                return self
        return Instance(self.arrival, self.prompt, self.output, prediction, lower)

    def take(self, indices: Sequence[int] | NDArray[np.int64]) -> Instance:
        """The sub-instance of the given requests (kept in arrival order)."""
        index = np.sort(np.asarray(indices, dtype=np.int64))
        return Instance(
            self.arrival[index],
            self.prompt[index],
            self.output[index],
            self.prediction[index],
            None if self.lower is None else self.lower[index],
        )

    def to_dict(self) -> dict[str, list[float] | list[int] | None]:
        """Plain lists, e.g. for JSON."""
        return {
            "arrival": self.arrival.tolist(),
            "prompt": self.prompt.tolist(),
            "output": self.output.tolist(),
            "prediction": self.prediction.tolist(),
            "lower": None if self.lower is None else self.lower.tolist(),
        }
