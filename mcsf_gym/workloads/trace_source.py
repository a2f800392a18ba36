"""Read a trace's text from a path or a URL, with one total deadline for the whole download.

A URL is read in a worker thread in chunks; the caller waits at most ``timeout`` seconds in
all (connecting, headers and every byte), so a server that sends one byte per second cannot
hold a run past its deadline. gzip data is unpacked and a UTF-8 byte-order mark removed.
"""

from __future__ import annotations

import gzip
import math
import re
import threading
import urllib.request
import zlib
from os import PathLike
from pathlib import Path
from typing import Any

URL = re.compile(r"^(https?|file)://", re.IGNORECASE)
"""The URL schemes a trace may be read from."""

_CHUNK = 1 << 16


def check_source(source: Any) -> str:
    """``source`` as a string (a path or a URL).

    Raises:
        ValueError: if it is neither a non-empty string nor an ``os.PathLike``.
    """
    if isinstance(source, PathLike):
        source = source.__fspath__()
    if not isinstance(source, str) or not source:
        raise ValueError(f"trace source must be a path or a URL, got {source!r}")
    return source


def check_timeout(timeout: Any) -> float:
    """``timeout`` as a finite number of seconds ``> 0``.

    Raises:
        ValueError: naming the value otherwise.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    return float(timeout)


def read_text(source: str, timeout: float) -> str:
    """The decoded text of a path or URL.

    Args:
        source: a local path, or an ``http://``, ``https://`` or ``file://`` URL.
        timeout: the total number of seconds a URL may take to arrive.

    Raises:
        ValueError: for an unreadable source, a download past its deadline, broken gzip data
            or text that is not UTF-8.
    """
    if URL.match(source):
        data = _download(source, timeout)
    else:
        try:
            data = Path(source).read_bytes()
        except (OSError, ValueError) as error:
            raise ValueError(f"could not read trace file {source!r}: {error}") from error
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"trace {source!r}: broken gzip data ({error})") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"trace {source!r} is not UTF-8 text ({error})") from error


def _download(url: str, timeout: float) -> bytes:
    """The body of ``url``, or a ``ValueError`` once ``timeout`` seconds have passed in all."""
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def fetch() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                read = getattr(response, "read1", response.read)
                chunks = []
                while not stop.is_set():
                    chunk = read(_CHUNK)
                    if not chunk:
                        break
                    chunks.append(chunk)
                outcome["data"] = b"".join(chunks)
        except Exception as error:  # reported to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=fetch, name=f"trace download {url}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        stop.set()  # the worker ends at its next chunk or socket timeout
        raise ValueError(f"could not read trace URL {url!r}: not complete within {timeout:g} s")
    error = outcome.get("error")
    if error is not None:
        raise ValueError(f"could not read trace URL {url!r}: {error}") from error
    return outcome["data"]
