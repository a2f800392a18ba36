"""Hostile trace input: random bytes and mutated traces give a ValueError or a valid result,
never another exception and never a hang; a URL that trickles stops at its total deadline."""

import signal
import socket
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcsf_gym.workloads import load_trace
from mcsf_gym.workloads.traces import FORMATS, TraceLoadResult

CASE_SECONDS = 5  # a single case that takes longer counts as a hang

HEADERS = [
    "arrived_at,num_prefill_tokens,num_decode_tokens",
    "TIMESTAMP,ContextTokens,GeneratedTokens",
    "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
    "num_prefill_tokens,num_decode_tokens",
]
ODD_CELLS = st.one_of(
    st.integers(-3, 10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "",
            "nan",
            "1e30",
            "2023-11-16 18:15:46.68",
            "2024-05-10T00:00:00+99:99",
            '"',
            "\r",
            "\x00",
            "1_0",
            "0x10",
            "٣",
            "true",
            "null",
        ]
    ),
)


# Mostly plausible cells (small counts and times), so that many cases load and are checked.
PLAIN_CELLS = st.integers(1, 60).map(str)
CELLS = st.one_of(*[PLAIN_CELLS] * 12, st.just("0"), ODD_CELLS)


@contextmanager
def time_limit(seconds):
    """Fail (TimeoutError) if the block runs longer than ``seconds`` (Unix, main thread)."""

    def expire(signum, frame):
        raise TimeoutError(f"trace case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_load(path, **kwargs):
    """Load; a ValueError is fine, a result must be a valid instance; nothing else is."""
    with time_limit(CASE_SECONDS), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = load_trace(path, **kwargs)
        except ValueError:
            return None
    assert isinstance(result, TraceLoadResult)
    inst = result.instance
    assert inst.n >= 1 and inst.arrival[0] == 0 and np.all(np.diff(inst.arrival) >= 0)
    assert np.all(inst.prompt >= 1) and np.all(inst.output >= 1)
    assert result.rows >= inst.n + result.dropped + result.failed
    if kwargs.get("memory") is not None:
        assert np.all(inst.prompt + inst.output <= kwargs["memory"])
    return result


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    data=st.binary(max_size=400),
    name=st.sampled_from(["t.csv", "t.jsonl", "t", "t.csv.gz"]),
    fmt=st.sampled_from(FORMATS),
)
def test_random_bytes(tmp_path, data, name, fmt):
    path = tmp_path / name
    path.write_bytes(data)
    check_load(path, format=fmt)


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    rows=st.lists(st.lists(CELLS, min_size=2, max_size=6), max_size=6),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    memory=st.sampled_from([None, 50]),
    policy=st.sampled_from(["error", "drop", "clip"]),
)
def test_mutated_csv(tmp_path, header, rows, end, memory, policy):
    text = end.join([header, *(",".join(row) for row in rows)]) + end
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_load(path, memory=memory, on_oversize=policy)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**30), st.floats(), st.text(max_size=8)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    ["timestamp", "input_length", "output_length", "hash_ids", "arrival", "prompt", "output", "x"]
)


@FUZZ
@given(
    records=st.lists(st.dictionaries(KEYS, JSON_VALUES, max_size=5), min_size=1, max_size=5),
    unit=st.sampled_from([None, "s", "ms", "ns"]),
)
def test_mutated_jsonl(tmp_path, records, unit):
    import json

    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records))
    check_load(path, time_unit=unit)


def test_a_url_trickling_one_byte_per_second_stops_at_its_deadline():
    """A local server sends its body one byte per 0.5 s: load_trace must give up at 1.5 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    stop = threading.Event()

    def serve():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(4096)
            body = b"num_prefill_tokens,num_decode_tokens\n" + b"1,1\n" * 100
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            for byte in body:
                if stop.wait(0.5):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/trace.csv"
    started = time.monotonic()
    try:
        with pytest.raises(ValueError, match=r"not complete within 1\.5 s"):
            load_trace(url, timeout=1.5)
        assert time.monotonic() - started < 3.0
    finally:
        stop.set()
        listener.close()
        thread.join(5)
    assert not thread.is_alive()
