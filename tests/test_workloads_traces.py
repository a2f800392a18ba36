"""Trace loaders: Vidur CSV, Azure CSV, JSONL, from paths and URLs, with their errors."""

import gzip
import http.server
import os
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from mcsf_gym.workloads import load_trace

# Trace files: the folder named by MCSF_TRACE_DATA, or ../shared/data beside the repository.
DATA = Path(
    os.environ.get("MCSF_TRACE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
AZURE_CONV = DATA / "azure_llm_2023_conv.csv"
needs_data = pytest.mark.skipif(
    not AZURE_CONV.exists(), reason="trace data not present (set MCSF_TRACE_DATA)"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@needs_data
def test_azure_conversation_trace():
    result = load_trace(AZURE_CONV)
    inst = result.instance
    assert result.format == "vidur"
    assert (result.rows, inst.n, result.dropped, result.clipped) == (19366, 19366, 0, 0)
    assert not result.reordered and result.has_arrivals
    assert inst.prompt.mean() == pytest.approx(1154.70, abs=0.01)
    assert inst.output.mean() == pytest.approx(211.13, abs=0.01)
    assert np.median(inst.prompt) == 1020 and np.median(inst.output) == 129
    assert inst.arrival[0] == 0 and inst.arrival[-1] == pytest.approx(3501.721937)
    assert np.array_equal(inst.prediction, inst.output)


@needs_data
def test_limit_time_scale_and_memory_options_on_real_data():
    result = load_trace(AZURE_CONV, limit=100, time_scale=0.5)
    assert result.instance.n == 100 and result.rows == 100
    full = load_trace(AZURE_CONV, limit=100).instance
    assert np.allclose(result.instance.arrival, full.arrival * 0.5)
    dropped = load_trace(AZURE_CONV, memory=2048, on_oversize="drop")
    clipped = load_trace(AZURE_CONV, memory=2048, on_oversize="clip")
    big = load_trace(AZURE_CONV).instance
    need = big.prompt + big.output
    assert dropped.dropped == clipped.clipped == int(np.sum(need > 2048)) > 0
    assert dropped.instance.n == big.n - dropped.dropped
    assert np.max(clipped.instance.prompt + clipped.instance.output) == 2048
    count = int(np.sum(need > 2048))
    with pytest.raises(ValueError, match=rf"{count} of the trace's 19366 rows .* > memory 2048"):
        load_trace(AZURE_CONV, memory=2048, limit=20)  # the whole file is counted


def test_vidur_csv_is_sorted_stably(tmp_path):
    path = write(
        tmp_path,
        "t.csv",
        "arrived_at,num_prefill_tokens,num_decode_tokens\n2.5,10,1\n1.0,20,2\n2.5,30,3\n1.0,40,4\n",
    )
    result = load_trace(path)
    assert result.reordered
    assert result.instance.arrival.tolist() == [0.0, 0.0, 1.5, 1.5]
    assert result.instance.prompt.tolist() == [20, 40, 10, 30]  # ties keep file order
    assert result.instance.output.tolist() == [2, 4, 1, 3]


def test_length_only_csv_has_zero_arrivals(tmp_path):
    path = write(
        tmp_path, "l.csv", "num_prefill_tokens,num_decode_tokens,pd_ratio\n5,6,0.8\n7,8,1\n"
    )
    result = load_trace(path)
    assert not result.has_arrivals
    assert result.instance.arrival.tolist() == [0, 0]
    assert result.instance.prompt.tolist() == [5, 7]


def test_azure_datetime_timestamps(tmp_path):
    path = write(
        tmp_path,
        "azure.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:50.9951690,396,109\n"
        "2023-11-16 18:16:00,879,55\n"
        "2023-11-17 00:00:00.5,91,16\n",
    )
    result = load_trace(path)
    assert result.format == "azure"
    expected = [0.0, 4.314579, 13.31941, 5 * 3600 + 44 * 60 + 13.81941]
    assert result.instance.arrival == pytest.approx(expected, abs=1e-6)
    assert result.instance.prompt.tolist() == [374, 396, 879, 91]


def test_datetime_offsets_and_numeric_azure(tmp_path):
    zoned = write(
        tmp_path,
        "z.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16T18:00:00Z,1,1\n2023-11-16T20:00:01+02:00,1,1\n",
    )
    assert load_trace(zoned).instance.arrival.tolist() == [0.0, 1.0]
    numeric = write(
        tmp_path, "n.csv", "timestamp,contexttokens,generatedtokens\n10,1,2\n12.5,3,4\n"
    )
    assert load_trace(numeric, format="azure").instance.arrival.tolist() == [0.0, 2.5]


def test_jsonl_with_key_aliases(tmp_path):
    path = write(
        tmp_path,
        "r.jsonl",
        '{"arrival": 3.0, "prompt": 5, "output": 7}\n\n'
        '{"arrived_at": 1.0, "prompt_tokens": 2, "output_tokens": 4, "extra": "x"}\n',
    )
    result = load_trace(path)
    assert result.format == "jsonl" and result.reordered
    assert result.instance.arrival.tolist() == [0.0, 2.0]
    assert result.instance.prompt.tolist() == [2, 5]
    lengths_only = write(tmp_path, "l.txt", '{"input_tokens": 3, "generated_tokens": 4}\n')
    result = load_trace(lengths_only)  # detected by the leading "{"
    assert not result.has_arrivals and result.instance.output.tolist() == [4]


def test_gzip_input(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"arrived_at,num_prefill_tokens,num_decode_tokens\n0,3,4\n"))
    assert load_trace(path).instance.prompt.tolist() == [3]


def test_oversize_policies_and_counts(tmp_path):
    path = write(
        tmp_path,
        "o.csv",
        "arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,50,60\n2,200,3\n3,1,1\n",
    )
    with pytest.raises(
        ValueError, match=r"o\.csv: 2 of the trace's 4 rows .* line 3: prompt 50 \+ output 60 = 110"
    ):
        load_trace(path, memory=100)
    dropped = load_trace(path, memory=100, on_oversize="drop")
    assert (dropped.rows, dropped.dropped, dropped.clipped, dropped.instance.n) == (4, 2, 0, 2)
    clipped = load_trace(path, memory=100, on_oversize="clip")
    assert (clipped.dropped, clipped.clipped) == (0, 2)
    assert clipped.instance.prompt.tolist() == [5, 50, 99, 1]
    assert clipped.instance.output.tolist() == [5, 50, 1, 1]
    assert load_trace(path, memory=100, on_oversize="drop", limit=2).instance.prompt.tolist() == [
        5,
        1,
    ]
    with pytest.raises(ValueError, match=r"no requests.*2 row"):
        big = write(tmp_path, "big.csv", "num_prefill_tokens,num_decode_tokens\n" + "90,90\n" * 2)
        load_trace(big, memory=100, on_oversize="drop")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,abc,5\n", r"line 3: .*'abc'"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,5,0\n", r"line 3: .*'0'"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,5,2.5\n", r"line 3: .*'2.5'"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,5,-4\n", r"line 3: .*'-4'"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\nsoon,5,5\n", r"line 3: .*'soon'"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n\n1,5\n", r"line 4: no value"),
        ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1,nan,5\n", r"line 3: .*'nan'"),
    ],
)
def test_malformed_rows_name_file_line_and_value(tmp_path, text, pattern):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ValueError, match=r"bad\.csv, " + pattern):
        load_trace(path)


def test_malformed_jsonl_and_mixed_rows(tmp_path):
    cases = [
        ('{"prompt": 1, "output": 2}\n{"prompt": 1,\n', r"line 2: bad JSON"),
        ('{"prompt": 1, "output": 2}\n[1, 2]\n', r"line 2: expected a JSON object"),
        ('{"prompt": 1, "output": 2}\n{"prompt": 1}\n', r"line 2: no output key; expected one"),
        ('{"prompt": 1, "output": 2}\n{"arrival": 1, "prompt": 1, "output": 2}\n', r"line 2"),
        (
            '{"arrival": 0, "prompt": 1, "output": 2}\n{"arrival": "2023-11-16 18:00:00", '
            '"prompt": 1, "output": 2}\n',
            r"line 2: .*mixes",
        ),
        ('{"prompt": true, "output": 2}\n', r"line 1: bad prompt value True"),
    ]
    for text, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            load_trace(write(tmp_path, "bad.jsonl", text))


def test_missing_columns_list_the_expected_ones(tmp_path):
    unknown = write(tmp_path, "u.csv", "time,in,out\n0,1,1\n")
    with pytest.raises(ValueError, match="arrived_at,num_prefill_tokens,num_decode_tokens"):
        load_trace(unknown)
    azure = write(tmp_path, "a.csv", "TIMESTAMP,ContextTokens\n0,1\n")
    with pytest.raises(
        ValueError,
        match=r"lacks the output column.*expected columns arrival: TIMESTAMP; "
        r"prompt: ContextTokens; output: GeneratedTokens",
    ):
        load_trace(azure, format="azure")
    with pytest.raises(ValueError, match="empty"):
        load_trace(write(tmp_path, "e.csv", ""), format="vidur")


def test_bad_arguments_and_unreadable_sources(tmp_path):
    path = write(tmp_path, "t.csv", "num_prefill_tokens,num_decode_tokens\n1,1\n")
    for kwargs, field in [
        ({"format": "parquet"}, "format"),
        ({"on_oversize": "ignore"}, "on_oversize"),
        ({"time_scale": 0}, "time_scale"),
        ({"limit": 0}, "limit"),
        ({"memory": "huge"}, "memory"),
    ]:
        with pytest.raises(ValueError, match=field):
            load_trace(path, **kwargs)
    with pytest.raises(ValueError, match="could not read trace file"):
        load_trace(tmp_path / "missing.csv")


def test_file_url(tmp_path):
    path = write(
        tmp_path, "t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0,3,4\n1,5,6\n"
    )
    result = load_trace(path.as_uri())
    assert result.source == path.as_uri()
    assert result.instance.output.tolist() == [4, 6]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_http_url_from_a_local_server(tmp_path):
    write(tmp_path, "t.jsonl", '{"arrival": 0, "prompt": 3, "output": 4}\n')
    handler = partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert load_trace(f"{base}/t.jsonl").instance.prompt.tolist() == [3]
        with pytest.raises(ValueError, match=r"could not read trace URL.*404"):
            load_trace(f"{base}/missing.csv")
    finally:
        server.shutdown()
        server.server_close()
