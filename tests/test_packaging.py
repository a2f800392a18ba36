"""What a non-editable install ships: the training configs and every model folder.

The install itself is exercised by ``.ci/check_install.sh`` (run by ``.ci/run``); this test
keeps ``pyproject.toml`` in step with the repository, so a new model or config is not left out.
"""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_model_folder_is_installed():
    folders = sorted(p.name for p in (ROOT / "models").iterdir() if p.is_dir())
    assert folders, "no shipped models"
    expected = {f"share/mcsf-gym/models/{name}": [f"models/{name}/*"] for name in folders}
    assert SETUPTOOLS["data-files"] == expected


def test_training_configs_are_package_data():
    assert "configs/*.toml" in SETUPTOOLS["package-data"]["training"]
    assert sorted((ROOT / "training" / "configs").glob("*.toml"))
