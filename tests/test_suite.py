"""The core-v1 suite: frozen definitions, seed streams, datasets, and its reference data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from agents import run_agent
from evaluation.bench_reference import exact_instance, replays_exactly
from mcsf_gym import datasets
from mcsf_gym.suites import Task, get_task, load_reference, load_suite, read_suite, suite_names

SUITE = load_suite("core-v1")
needs_data = pytest.mark.skipif(
    not os.environ.get("MCSF_GYM_DATA"), reason="shared trace data not present"
)


def test_core_v1_is_shipped_and_covers_the_issue() -> None:
    assert "core-v1" in suite_names()
    assert len(SUITE.tasks) == 11
    workloads = " ".join(task.workload for task in SUITE.tasks)
    needed_specs = (
        "paper-model1", "paper-model2", "rate=10", "rate=50", "azure-conv-2023",
        "azure-code-2023", "arxiv-summarization", "extreme=prompt", "rate=1000000",
    )  # fmt: skip
    for needed in needed_specs:
        assert needed in workloads, needed
    predictions = {task.prediction for task in SUITE.tasks}
    assert {"exact", "noisy:eps=0.5", "interval:eps=0.5"} <= predictions
    assert {task.time_model for task in SUITE.tasks} == {"unit", "linear"}


@pytest.mark.parametrize("task", SUITE.tasks, ids=lambda task: task.name)
def test_task_definition(task: Task) -> None:
    assert task.version == 1 and task.name.endswith("-v1")
    assert 30 <= len(task.eval_seeds) <= 100
    stream = {task.train_seed(k) for k in range(1000)}
    assert not stream & set(task.eval_seeds)
    assert not stream & set(task.valid_seeds)
    assert not set(task.valid_seeds) & set(task.eval_seeds)
    if task.time_model == "linear":
        assert task.memory is not None


def test_unknown_suite_and_task_name_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known suites: core-v1"):
        load_suite("core-v2")
    with pytest.raises(ValueError, match=r"did you mean 'lmsys-rate50-v1'.*known tasks"):
        get_task("lmsys-rate50-v2")


def test_bad_task_fields_are_value_errors() -> None:
    base = {"description": "", "workload": "lmsys", "time_model": "linear",
            "eval_seeds": (0, 1), "valid_seeds": (5,), "train_seed_start": 10}  # fmt: skip
    Task(name="ok-v1", **base)
    with pytest.raises(ValueError, match=r"name-vN|-vN"):
        Task(name="no-version", **base)
    with pytest.raises(ValueError, match="time_model"):
        Task(name="a-v1", **{**base, "time_model": "quadratic"})
    with pytest.raises(ValueError, match="train_seed_start"):
        Task(name="a-v1", **{**base, "train_seed_start": 1})
    with pytest.raises(ValueError, match="share seeds"):
        Task(name="a-v1", **{**base, "valid_seeds": (1,)})
    with pytest.raises(ValueError, match="memory"):
        Task(name="a-v1", **{**base, "memory": 1})


def test_suite_file_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[[tasks]]\nname = "a-v1"\nworkload = "lmsys"\nspeed = 3\n')
    with pytest.raises(ValueError, match=r"unknown key.*speed"):
        read_suite(path)


def test_scenarios_are_reproducible_and_checked() -> None:
    task = get_task("lmsys-rate50-v1")
    one, two = task.scenario(3), task.scenario(3)
    np.testing.assert_array_equal(one.instance.arrival, two.instance.arrival)
    assert one.memory == 16492 and one.time_model == "linear"
    broken = Task(**{**_fields(task), "memory": 100, "name": "broken-v1"})
    with pytest.raises(ValueError, match="memory"):
        broken.scenario(0)


def _fields(task: Task) -> dict:
    data = task.to_dict()
    data["eval_seeds"] = tuple(data["eval_seeds"])
    data["valid_seeds"] = tuple(data["valid_seeds"])
    return data


@needs_data
def test_dataset_fetch_checks_the_checksum(tmp_path: Path) -> None:
    path = datasets.fetch("azure-code-2023")
    assert path.name == "azure_llm_2023_code.csv"
    bad = tmp_path / "azure_llm_2023_code.csv"
    bad.write_text(path.read_text()[:-10])
    with pytest.raises(ValueError, match="sha256"):
        datasets.fetch("azure-code-2023", data_dir=tmp_path, download=False)


def test_missing_dataset_without_network_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FileNotFoundError, match=r"curl -L -o .*splitwise_conv.csv"):
        datasets.fetch("azure-conv-2023", data_dir=tmp_path, download=False)
    broken = datasets.Dataset(**{**datasets.DATASETS["azure-conv-2023"].__dict__,
                                 "url": (tmp_path / "nowhere.csv").as_uri()})  # fmt: skip
    monkeypatch.setitem(datasets.DATASETS, "azure-conv-2023", broken)
    with pytest.raises(FileNotFoundError, match=r"download from .* failed.*MCSF_GYM_DATA"):
        datasets.fetch("azure-conv-2023", data_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # no partial file left behind
    with pytest.raises(ValueError, match="known datasets"):
        datasets.fetch("lmsys-chat-1m")


def test_task_with_missing_trace_gives_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCSF_GYM_DATA", str(tmp_path))
    monkeypatch.setattr(datasets.urllib.request, "urlopen", _offline)
    task = get_task("azure-code-v1")
    with pytest.raises(FileNotFoundError, match=r"azure-code-2023.*curl"):
        task.scenario(0)


def _offline(*args: object, **kwargs: object) -> None:
    raise datasets.urllib.error.URLError("no network")


@pytest.mark.parametrize("task", SUITE.tasks, ids=lambda task: task.name)
def test_reference_data_is_consistent(task: Task) -> None:
    reference = load_reference(task)
    assert reference.meta["command"].startswith("python scripts/make_reference.py")
    for seed in task.eval_seeds:
        record = reference[seed]
        assert record.bound <= record.best_known * (1 + 1e-12)
        assert all(record.best_known <= value * (1 + 1e-12) for value in record.values.values())
        assert all(record.bound <= value * (1 + 1e-12) for value in record.values.values())
        assert len(record.best_start) == record.n


@needs_data
@pytest.mark.parametrize("task", SUITE.tasks, ids=lambda task: task.name)
def test_best_known_schedules_replay_and_mcsf_values_reproduce(task: Task) -> None:
    reference = load_reference(task)
    for seed in task.eval_seeds[:2]:
        scenario = task.scenario(seed)
        record = reference[seed]
        exact = exact_instance(scenario.instance)
        replay = replays_exactly(exact, record.best_start, scenario.memory, task.time_model)
        assert replay is not None
        assert replay.total_latency == pytest.approx(record.best_known, rel=1e-12)
        mcsf = run_agent(scenario.instance, "mcsf", memory=scenario.memory,
                         time_model=task.time_model, eviction=task.eviction, seed=seed)  # fmt: skip
        assert mcsf.total_latency == pytest.approx(record.values["mcsf"], rel=1e-12)


def test_reference_for_a_changed_definition_is_refused(tmp_path: Path) -> None:
    task = get_task("heavy-prompt-v1")
    changed = Task(**{**_fields(task), "description": "changed"})
    with pytest.raises(ValueError, match="another definition"):
        load_reference(changed)
    data = json.loads((SUITE.reference_dir / f"{task.name}.json").read_text())
    assert data["task"] == task.to_dict()
