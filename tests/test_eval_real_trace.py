"""Smoke test of the real-trace comparison script on a tiny grid."""

import json

from evaluation.real_trace import main


def test_real_trace_runs_end_to_end(tmp_path) -> None:
    main(
        ["--sizes", "200", "--seeds", "0", "--rates", "50", "--no-progress", "--out", str(tmp_path)]
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary
    rows = (tmp_path / "rows.csv").read_text().splitlines()
    assert len(rows) > 1 and "mcsf" in "".join(rows)
