"""Writing and reading results: CSV (or Parquet) rows and a JSON summary pandas can read."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mcsf_gym

FORMATS = ("csv", "parquet")


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
        pd.DataFrame(list(rows), columns=columns).to_parquet(path, index=False)
        return path
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _clean(row.get(key)) for key in columns})
    return path


def write_json(payload: dict[str, Any], path: Path) -> Path:
    """Write ``payload`` with the package version added, NaN as ``null``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = _clean({"mcsf_gym_version": mcsf_gym.__version__, **payload})
    path.write_text(json.dumps(document, indent=2, default=str, allow_nan=False) + "\n")
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


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of ``columns`` (numbers rounded to 4 significant digits)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.4g}"
        return "" if value is None else str(value)

    body = [[cell(row.get(column)) for column in columns] for row in rows]
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
