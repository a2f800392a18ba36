"""The spec registry: names, parameters, and the shared objects of immutable registries."""

import pytest

from mcsf_gym.core.eviction import make_eviction
from mcsf_gym.core.predictions import make_predictor
from mcsf_gym.core.time_models import make_time_model
from mcsf_gym.registry import SHARED_SPECS, Registry


def test_immutable_objects_are_built_once_per_spec():
    assert make_time_model("linear:base=40") is make_time_model("linear:base=40")
    assert make_time_model("linear:base=40") is not make_time_model("linear")
    assert make_eviction("random:beta=0.3") is make_eviction("random:beta=0.3")
    assert make_predictor("noisy:eps=0.5") is make_predictor("noisy:eps=0.5")
    assert make_time_model("linear:base=40").base == 40


def test_a_spec_that_fails_is_not_kept_and_the_store_is_bounded():
    registry: Registry[tuple] = Registry("thing")
    registry.register("pair", lambda a=0, b=0: (a, b))
    with pytest.raises(ValueError, match="thing 'pair:c=1'"):
        registry.make_shared("pair:c=1")
    with pytest.raises(ValueError, match="thing 'pair:c=1'"):  # asked again: the same error
        registry.make_shared("pair:c=1")
    first = registry.make_shared("pair:a=1")
    assert registry.make_shared("pair:a=1") is first and first == (1, 0)
    for a in range(SHARED_SPECS + 1):
        assert registry.make_shared(f"pair:a={a},b=2") == (a, 2)
    assert len(registry._shared) <= SHARED_SPECS
