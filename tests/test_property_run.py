"""The long property run's script works, on a small budget (the full run is committed)."""

from __future__ import annotations

import json
from pathlib import Path

from script_loader import load_script


def test_property_run_small_budget(tmp_path: Path) -> None:
    module = load_script("scripts/property_run.py")
    status = module.main(["--episodes", "30", "--agent-runs", "12", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert status == 0, summary["failures"]
    assert sum(v for k, v in summary["counts"].items() if k.startswith("env ")) == 30
    assert sum(v for k, v in summary["counts"].items() if k.startswith("agent ")) == 12
