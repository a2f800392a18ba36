"""An optional compiled kernel: MC-SF's admission walk over a batch of candidates.

:meth:`mcsf_gym.core.lookahead.AdmissionCheck.add_while_fits` tests candidates in order,
adding each that fits, until the first that does not. One by one, each test and addition
is two or three numpy calls on a slice (a few microseconds of fixed cost each); at a boundary
that admits dozens of requests (an arrival burst, a restart after ``clear-all``) those fixed
costs dominate. :func:`add_while_fits` does the same arithmetic in one loop, compiled by numba
(``njit``, cached on disk) when numba is installed (the ``solvers`` extra; numba ships wheels
for the supported CPython versions). numba is imported, and the kernel compiled, only once a
process has walked :data:`COMPILE_AFTER` batches, so that short runs never pay for it. Before
that, or without numba, the check keeps its one-by-one path, which gives the same answers
(``tests/test_fast_paths.py`` checks the compiled and the interpreted kernel against it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Kernel = Callable[[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], float], int]


def add_while_fits(
    shifted: NDArray[np.int64],
    prompts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    cap: float,
) -> int:
    """Add candidates in order while each fits; return how many were added.

    ``shifted[h - 1]`` is ``m[h] + h`` (predicted memory at the ``h``-th coming boundary,
    plus ``h``), long enough for every length. Candidate ``j`` fits when ``max(shifted[:p])
    + s <= cap`` (``s = prompts[j]``, ``p = lengths[j] >= 1``); adding it raises
    ``shifted[h - 1]`` by ``s + h`` for ``h <= p``.
    """
    for j in range(prompts.size):
        prompt = prompts[j]
        length = lengths[j]
        top = shifted[0]
        for h in range(1, length):
            if shifted[h] > top:
                top = shifted[h]
        if top + prompt > cap:
            return j
        for h in range(length):
            shifted[h] += prompt + h + 1
    return prompts.size


#: Batches a process walks with the interpreted path before it compiles the kernel: numba's
#: import and the kernel's first load cost about half a second, which a batch saves back only
#: some microseconds at a time (measured: 4 us per batch under ``linear`` time, 45 us in the
#: bursts of ``unit`` time), so short runs never pay for it.
COMPILE_AFTER = 20_000

_compiled: Kernel | None = None
_tried = False
_batches = 0


def compiled_kernel() -> Kernel | None:
    """:func:`add_while_fits` compiled by numba, or ``None``.

    ``None`` for the first :data:`COMPILE_AFTER` calls, and for good without numba.
    """
    global _compiled, _tried, _batches
    if _tried:
        return _compiled
    _batches += 1
    if _batches <= COMPILE_AFTER:
        return None
    _tried = True
    try:
        from numba import njit
    except ImportError:
        return None
    _compiled = njit(cache=True, nogil=True)(add_while_fits)
    return _compiled
