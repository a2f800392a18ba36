"""Shared test setup: the trace datasets are read from ``../shared/data`` (never copied here)."""

import os
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# mcsf_gym.datasets looks here first; a test that needs another folder passes data_dir.
if SHARED_DATA.is_dir():
    os.environ.setdefault("MCSF_GYM_DATA", str(SHARED_DATA))
