"""Run a solver call in a fresh interpreter when its library cannot load next to another.

The PyPI wheels of OR-Tools (9.15) and highspy (1.15) each ship a ``libhighs.so.1`` of a
different HiGHS version under the same name; whichever loads first wins and the other
package's extension fails with an "undefined symbol" error. Every solver call of this
package therefore goes through :func:`call`: it imports the solver in this process when it
can, and otherwise runs the call in a new interpreter (``python -m
evaluation.hindsight.isolation``) that loads nothing else. The call and its result travel as
pickles through temporary files, so the caller's ``__main__`` is never re-imported.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: The module that must import for each solver.
MODULES = {"highs": "highspy", "cpsat": "ortools.sat.python.cp_model"}


def loadable(solver: str) -> bool:
    """Whether ``solver``'s module imports in this process.

    Returns ``False`` when it is installed but clashes with a library already loaded.

    Raises:
        ImportError: naming the ``solvers`` extra when the package is not installed.
    """
    try:
        importlib.import_module(MODULES[solver])
    except ImportError as error:
        if "undefined symbol" in str(error):
            return False
        raise ImportError(
            f"solver {solver!r} needs {MODULES[solver].split('.')[0]}: "
            "pip install 'mcsf-gym[solvers]'"
        ) from error
    return True


def call(solver: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, in a new interpreter if ``solver`` cannot load here.

    ``function`` must be a module-level function; arguments and result must pickle.

    Raises:
        RuntimeError: if the new interpreter fails without reporting an exception.
    """
    if loadable(solver):
        return function(*args, **kwargs)
    with tempfile.TemporaryDirectory(prefix="hindsight-") as folder:
        request = os.path.join(folder, "call.pickle")
        answer = os.path.join(folder, "result.pickle")
        with open(request, "wb") as handle:
            pickle.dump((function, args, kwargs), handle)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        process = subprocess.run(
            [sys.executable, "-m", "evaluation.hindsight.isolation", request, answer],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if not os.path.exists(answer):
            raise RuntimeError(
                f"the {solver} worker process failed (exit code {process.returncode}): "
                f"{process.stderr[-2000:]}"
            )
        with open(answer, "rb") as handle:
            kind, payload = pickle.load(handle)
    if kind == "error":
        raise payload
    return payload


def _main(request: str, answer: str) -> None:
    """Run the pickled call in ``request``; pickle ``("ok", result)`` or ``("error", e)``."""
    with open(request, "rb") as handle:
        function, args, kwargs = pickle.load(handle)
    try:
        outcome: tuple[str, Any] = ("ok", function(*args, **kwargs))
    except Exception as error:  # reported to the caller, which re-raises it
        outcome = ("error", error)
    with open(answer, "wb") as handle:
        pickle.dump(outcome, handle)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
