"""Output paths checked before the work starts, files replaced atomically, one writer a folder.

A command that runs for minutes must not fail at the end because ``--out`` names a file, or
a folder under a file: :func:`check_output_dir` and :func:`check_output_file` raise the
``ValueError`` before any simulation. Every result file is written to a temporary file beside
it and moved into place (:func:`atomic_write`), so a reader never sees half a file, and the
files of one results folder are written under an exclusive lock (:func:`folder_lock`), so two
runs into one folder leave the complete set of one of them, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _blocking_file(path: Path) -> Path | None:
    """The first existing non-directory among ``path`` and its parents, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def check_output_dir(path: Path | str, option: str = "--out") -> Path:
    """Make sure ``path`` is (or can become) a writable folder; create it.

    Raises:
        ValueError: if ``path`` or one of its parents is a file, or the folder cannot be
            created or written, naming ``option`` and the path.
    """
    folder = Path(path)
    blocking = _blocking_file(folder)
    if blocking is not None:
        where = "is" if blocking == folder else f"is under {blocking}, which is"
        raise ValueError(f"{option} {folder} {where} a file, not a folder: choose another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"{option} {folder}: cannot create the folder ({error.strerror})"
        ) from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {folder}: the folder is not writable")
    return folder


def check_output_file(path: Path | str, option: str = "--out") -> Path:
    """Make sure a file can be written at ``path``; create its folder.

    Raises:
        ValueError: if ``path`` is a folder, or its folder cannot be created or written.
    """
    file = Path(path)
    if file.is_dir():
        raise ValueError(f"{option} {file} is a folder; give a file name")
    check_output_dir(file.parent if str(file.parent) else Path("."), option)
    return file


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success move it onto ``path``.

    Args:
        path: the file to (re)write.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        **kwargs: passed to :func:`open` (``newline=""`` for CSV).

    Yields:
        The open file object. If the block raises, ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, mode, **kwargs) as stream:  # type: ignore[call-overload]
            yield stream
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def atomic_path(path: Path | str) -> contextlib.AbstractContextManager[Path]:
    """A temporary path beside ``path`` for libraries that write by file name; moved on success.

    The temporary name keeps ``path``'s suffix, for writers that check it (``np.savez``,
    ``DataFrame.to_parquet``).
    """
    return _atomic_path(Path(path))


@contextlib.contextmanager
def _atomic_path(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
    )
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def folder_lock(folder: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while the block writes its result files.

    The lock is ``folder/.mcsf-eval.lock`` through ``fcntl.flock``; where ``fcntl`` does not
    exist (Windows) the block runs unlocked, and each file is still replaced atomically.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    lock = Path(folder) / ".mcsf-eval.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
