"""Trace formats people have (Mooncake, BurstGPT, Azure 2024), column mapping, time units."""

import json
import warnings

import pytest

from mcsf_gym.workloads import load_trace
from mcsf_gym.workloads.traces import TraceTimeWarning


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_mooncake_jsonl_reads_milliseconds_and_ignores_hash_ids(tmp_path):
    path = write(
        tmp_path,
        "mooncake_trace.jsonl",
        '{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}\n'
        '{"timestamp": 10535, "input_length": 672, "output_length": 26, "hash_ids": [46]}\n'
        '{"timestamp": 27482, "input_length": 655, "output_length": 52, "hash_ids": []}\n',
    )
    result = load_trace(path)
    assert (result.format, result.time_unit) == ("mooncake", "ms")
    assert result.instance.arrival.tolist() == [0.0, 10.535, 27.482]
    assert result.instance.prompt.tolist() == [655, 672, 655]
    assert result.instance.output.tolist() == [52, 26, 52]
    as_seconds = load_trace(path, time_unit="s")
    assert as_seconds.instance.arrival.tolist() == [0.0, 10535.0, 27482.0]


def test_mooncake_hour_read_as_seconds_warns(tmp_path):
    # An hour of Mooncake trace (ms) with its keys renamed: read as seconds it would span 41 days.
    lines = [json.dumps({"arrival": i * 36_000, "prompt": 10, "output": 5}) for i in range(101)]
    path = write(tmp_path, "renamed.jsonl", "\n".join(lines))
    with pytest.warns(TraceTimeWarning, match=r"41\.7 days.*time_unit='ms'"):
        load_trace(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = load_trace(path, time_unit="ms")
    assert result.instance.arrival[-1] == pytest.approx(3600.0)


def test_seconds_read_as_milliseconds_warns(tmp_path):
    rows = "".join(f"{i * 0.2},10,5\n" for i in range(2000))  # 5 requests/s for 400 s
    path = write(tmp_path, "t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_trace(path)
    with pytest.warns(TraceTimeWarning, match=r"5e\+03 requests/s.*time_unit='s'"):
        load_trace(path, time_unit="ms")


def test_burstgpt_drops_and_counts_failed_requests(tmp_path):
    path = write(
        tmp_path,
        "BurstGPT_1.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        "5,ChatGPT,472,18,490,Conversation log\n"
        "45,ChatGPT,1087,0,1087,Conversation log\n"
        "118,GPT-4,417,276,693,API log\n",
    )
    result = load_trace(path)
    assert (result.format, result.rows, result.failed, result.instance.n) == ("burstgpt", 3, 1, 2)
    assert result.instance.arrival.tolist() == [0.0, 113.0]
    assert result.instance.prompt.tolist() == [472, 417]
    assert result.instance.output.tolist() == [18, 276]
    only_failed = write(
        tmp_path, "f.csv", "Timestamp,Request tokens,Response tokens\n1,5,0\n2,6,0\n"
    )
    with pytest.raises(ValueError, match=r"no requests.*2 failed request"):
        load_trace(only_failed)


def test_azure_2024_timestamps_with_utc_offset(tmp_path):
    path = write(
        tmp_path,
        "AzureLLMInferenceTrace_code_1week.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-05-10 00:00:00.009930+00:00,2162,5\n"
        "2024-05-10 00:00:00.554021+00:00,4069,6\n"
        "2024-05-10 02:00:01.009930+02:00,100,7\n",
    )
    result = load_trace(path)
    assert result.format == "azure"
    assert result.instance.arrival == pytest.approx([0.0, 0.544091, 1.0], abs=1e-9)


def test_column_mapping_and_explicit_unit(tmp_path):
    path = write(tmp_path, "mine.csv", "when_us,in,out,extra\n3000000,4,5,x\n1000000,6,7,y\n")
    columns = {"arrival": "when_us", "prompt": "in", "output": "out"}
    result = load_trace(path, columns=columns, time_unit="us")
    assert result.format == "csv (mapped)" and result.reordered
    assert result.instance.arrival.tolist() == [0.0, 2.0]
    assert result.instance.prompt.tolist() == [6, 4]
    no_arrival = load_trace(path, columns={**columns, "arrival": None})
    assert not no_arrival.has_arrivals
    jsonl = write(tmp_path, "mine.jsonl", '{"t": 2, "a": 1, "b": 2}\n{"t": 5, "a": 3, "b": 4}\n')
    mapped = load_trace(jsonl, columns={"arrival": "t", "prompt": "a", "output": "b"})
    assert mapped.instance.arrival.tolist() == [0.0, 3.0]
    with pytest.raises(ValueError, match="unknown field 'input'"):
        load_trace(path, columns={"input": "in"})
    with pytest.raises(ValueError, match="prompt must be a non-empty column name"):
        load_trace(path, columns={"prompt": ""})
    with pytest.raises(ValueError, match="lacks the prompt column"):
        load_trace(path, columns={"prompt": "missing", "output": "out"}, format="csv")
    with pytest.raises(ValueError, match="time_unit must be one of s, ms, us, ns, got 'sec'"):
        load_trace(path, columns=columns, time_unit="sec")


def test_line_endings_cr_crlf_lf_read_alike(tmp_path):
    rows = ["arrived_at,num_prefill_tokens,num_decode_tokens", "0,3,4", "1.5,5,6"]
    results = [
        load_trace(write(tmp_path, f"t{i}.csv", end.join(rows) + end)).instance
        for i, end in enumerate(["\n", "\r\n", "\r"])
    ]
    for inst in results:
        assert inst.arrival.tolist() == [0.0, 1.5] and inst.prompt.tolist() == [3, 5]
    jsonl = write(tmp_path, "r.jsonl", '{"prompt": 1, "output": 2}\r{"prompt": 3, "output": 4}\r')
    assert load_trace(jsonl).instance.prompt.tolist() == [1, 3]


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("1e30", "'1e30'"),
        ("9223372036854775808", "'9223372036854775808'"),
        ("2147483648", "'2147483648'"),
        ("1_000", "'1_000'"),
        ("inf", "'inf'"),
    ],
)
def test_token_counts_that_cannot_be_represented_are_refused(tmp_path, cell, shown):
    path = write(tmp_path, "t.csv", f"num_prefill_tokens,num_decode_tokens\n5,{cell}\n")
    with pytest.raises(ValueError, match=rf"line 2: bad num_decode_tokens value {shown}"):
        load_trace(path)


def test_json_token_counts_exact(tmp_path):
    path = write(tmp_path, "t.jsonl", '{"prompt": 1e30, "output": 2}\n')
    with pytest.raises(ValueError, match=r"line 1: bad prompt value 1e\+30"):
        load_trace(path)
    huge = write(tmp_path, "h.jsonl", '{"prompt": 1' + "0" * 5000 + ', "output": 2}\n')
    with pytest.raises(ValueError, match="line 1: bad JSON"):
        load_trace(huge)
    exact = write(tmp_path, "e.jsonl", '{"prompt": 2147483647, "output": 1.0}\n')
    assert load_trace(exact).instance.prompt.tolist() == [2**31 - 1]


@pytest.mark.parametrize("zone", ["+99:99", "+24:00", "-05:60", "+1200x"])
def test_impossible_time_zone_offsets_are_refused(tmp_path, zone):
    path = write(
        tmp_path,
        "z.csv",
        f"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00{zone},1,1\n",
    )
    with pytest.raises(ValueError, match=r"line 2: bad TIMESTAMP value"):
        load_trace(path)


def test_deep_json_none_source_and_huge_spans(tmp_path):
    deep = write(tmp_path, "d.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ValueError, match="line 1: "):
        load_trace(deep)
    deep_object = write(tmp_path, "o.jsonl", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(ValueError, match="line 1: JSON nested too deeply"):
        load_trace(deep_object)
    for bad in (None, 7, "", b"t.csv"):
        with pytest.raises(ValueError, match="trace source must be a path or a URL"):
            load_trace(bad)
    span = write(
        tmp_path, "s.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1e20,1,1\n"
    )
    with pytest.raises(ValueError, match=r"arrivals span 1e\+20 s .*more than the 1e\+09 s"):
        load_trace(span)
    for timeout in (0, -1, float("nan"), "5", True):
        with pytest.raises(ValueError, match="timeout must be a finite number"):
            load_trace(span, timeout=timeout)


def test_trace_workload_takes_the_time_unit(tmp_path):
    import numpy as np

    from mcsf_gym.workloads import make_workload

    path = write(
        tmp_path,
        "m.jsonl",
        '{"arrival": 0, "prompt": 3, "output": 4}\n{"arrival": 2500, "prompt": 5, "output": 6}\n',
    )
    workload = make_workload(f"trace:path={path},time_unit=ms,memory=100")
    scenario = workload.sample(np.random.default_rng(0))
    assert scenario.instance.arrival.tolist() == [0.0, 2.5]
    with pytest.raises(ValueError, match="time_unit"):
        make_workload(f"trace:path={path},time_unit=hours,memory=100")
