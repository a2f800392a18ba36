"""The worked example of docs/model.md section 2, by hand."""

import numpy as np

from agents.mcsf import MCSF
from mcsf_gym import Instance, simulate


def example() -> Instance:
    return Instance(arrival=[0, 0], prompt=[2, 2], output=[3, 2])


def test_both_fit_with_memory_ten() -> None:
    result = simulate(example(), MCSF(), memory=10, time_model="unit", record=True)
    assert result.total_latency == 5.0
    np.testing.assert_array_equal(result.start, [0, 0])
    np.testing.assert_array_equal(result.finish, [3, 2])
    np.testing.assert_array_equal(result.trace.memory, [6, 8, 5])


def test_memory_seven_admits_b_first() -> None:
    result = simulate(example(), MCSF(), memory=7, time_model="unit", record=True)
    assert result.total_latency == 6.0
    np.testing.assert_array_equal(result.start, [1, 0])
    np.testing.assert_array_equal(result.finish, [4, 2])
    np.testing.assert_array_equal(result.trace.memory, [3, 7, 4, 5])
    assert result.metrics["peak_memory"] == 7
    assert result.metrics["rounds"] == 4
