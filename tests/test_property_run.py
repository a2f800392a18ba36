"""The long property run's script works, on a small budget (the full run is committed)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "property_run.py"


def test_property_run_small_budget(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("property_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    status = module.main(["--episodes", "30", "--agent-runs", "12", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert status == 0, summary["failures"]
    assert sum(v for k, v in summary["counts"].items() if k.startswith("env ")) == 30
    assert sum(v for k, v in summary["counts"].items() if k.startswith("agent ")) == 12
