"""Writing and reading results: CSV (or Parquet) rows, a JSON summary, per-request latencies.

A results folder written by ``mcsf-eval compare`` or ``ratio`` holds ``rows.csv`` (or
``rows.parquet``: one row per scenario and agent), ``summary.csv`` and ``summary.json`` (the
summary plus the full configuration, package version and seeds), and for ``compare``
``latencies.npz`` (every request's latency of every run).
"""

from __future__ import annotations

import csv
import json
import math
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mcsf_gym
from evaluation.outputs import atomic_path, atomic_write

FORMATS = ("csv", "parquet")
#: File names inside a results folder.
SUMMARY_JSON = "summary.json"
LATENCIES_NPZ = "latencies.npz"


def _clean(value: Any) -> Any:
    """NaN as ``None``, recursively through dicts, lists and tuples."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def write_rows(rows: Sequence[dict[str, Any]], path: Path, fmt: str = "csv") -> Path:
    """Write rows to ``path`` (suffix replaced by the format's) and return the path written.

    Raises:
        ValueError: for an unknown format.
        ImportError: for Parquet without pandas and pyarrow.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    path = Path(path).with_suffix(f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if fmt == "parquet":
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "Parquet output needs pandas and pyarrow: pip install pandas pyarrow"
            ) from error
        with atomic_path(path) as temporary:
            pd.DataFrame(list(rows), columns=columns).to_parquet(temporary, index=False)
        return path
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _clean(row.get(key)) for key in columns})
    return path


def environment() -> dict[str, str]:
    """Versions of Python, numpy and the platform, recorded beside results."""
    import numpy as np

    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def write_json(payload: dict[str, Any], path: Path) -> Path:
    """Write ``payload`` with the package version added, NaN as ``null``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = _clean({"mcsf_gym_version": mcsf_gym.__version__, **payload})
    with atomic_write(path) as handle:
        handle.write(json.dumps(document, indent=2, default=str, allow_nan=False) + "\n")
    return path


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file written by :func:`write_json`.

    Raises:
        ValueError: if the file is missing or is not valid JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such results file: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def read_config(path: Path, command: str) -> dict[str, Any]:
    """The configuration of a run: from a ``summary.json`` written by ``command``, or a file.

    A ``summary.json`` (any JSON with a ``"config"`` key) gives its saved configuration; any
    other ``.json`` file, or a ``.toml`` file, is read as the configuration itself.

    Raises:
        ValueError: if the file is missing, unreadable, of another command, or not a mapping.
    """
    path = Path(path)
    if path.suffix == ".toml":
        try:
            import tomllib
        except ImportError as error:  # pragma: no cover - Python 3.10
            raise ValueError(
                f"{path}: TOML configurations need Python 3.11 or later; use JSON"
            ) from error
        if not path.is_file():
            raise ValueError(f"no such configuration file: {path}")
        try:
            data: Any = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path} is not valid TOML: {error}") from error
    else:
        data = read_json(path)
        if isinstance(data, dict) and "config" in data:
            saved = data.get("command")
            if saved is not None and saved != command:
                raise ValueError(
                    f"{path} was written by 'mcsf-eval {saved}', not 'mcsf-eval {command}'"
                )
            data = data["config"]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a configuration must be a mapping of option names to values")
    return data


def rows_file(folder: Path) -> Path:
    """The rows file of a results folder.

    That is the one its ``summary.json`` names, else ``rows.csv`` or ``rows.parquet``.

    Raises:
        ValueError: if there is none.
    """
    folder = Path(folder)
    summary = folder / SUMMARY_JSON
    named = read_json(summary).get("rows_file") if summary.is_file() else None
    candidates = [named] if named else [f"rows.{fmt}" for fmt in FORMATS]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"no {' or '.join(candidates)} in {folder}: is it a results folder?")


def write_latencies(latencies: dict[str, Any], path: Path) -> Path:
    """Save per-request latency arrays by run key (compressed ``.npz``)."""
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, **latencies)
    return path


def read_latencies(path: Path) -> dict[str, Any]:
    """Per-request latency arrays saved by :func:`write_latencies`.

    Raises:
        ValueError: if the file is missing.
    """
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such latency file: {path} (written by 'mcsf-eval compare')")
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read rows written by :func:`write_rows` (CSV values parsed as numbers where possible).

    Raises:
        ValueError: if the file is missing or has an unknown suffix.
    """
    from mcsf_gym.registry import parse_value

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such results file: {path}")
    if path.suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path).to_dict(orient="records")
    if path.suffix != ".csv":
        raise ValueError(f"results file {path} must be .csv or .parquet")
    with path.open(newline="") as handle:
        return [
            {key: (parse_value(value) if value != "" else None) for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


def format_number(value: Any) -> str:
    """A value for a table: floats to 4 significant digits (whole numbers from 1000 on)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of ``columns``, right-aligned (numbers by :func:`format_number`)."""
    body = [[format_number(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in body)) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(value.rjust(width) for value, width in zip(line, widths, strict=True))
        for line in body
    )
    return "\n".join(lines)
