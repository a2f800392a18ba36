"""A quiet HiGHS instance.

``highspy`` 1.16 prints its copyright banner to the process's standard output the first time a
``Highs`` object is built, before any option can switch output off. That line would corrupt
the output of our command-line tools (and of any user script that pipes it), so the first
construction runs with file descriptor 1 pointed at ``os.devnull``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_banner_printed = False


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Send everything written to file descriptor 1 (C code included) to ``os.devnull``."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        if os.name == "posix":
            ctypes.CDLL(None).fflush(None)  # the banner may sit in the C library's buffer
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs(threads: int) -> Any:
    """A ``highspy.Highs`` with logging off and ``threads`` threads, its banner swallowed."""
    global _banner_printed
    import highspy

    if _banner_printed:
        highs = highspy.Highs()
    else:
        with _stdout_silenced():
            highs = highspy.Highs()
        _banner_printed = True
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", int(threads))
    return highs
