"""The layers of docs/architecture.md point one way, and heavy dependencies load only when used."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package directory -> top-level names (or dotted prefixes) it must never import
FORBIDDEN = {
    "mcsf_gym/core": [
        "agents",
        "evaluation",
        "training",
        "mcsf_gym.env",
        "mcsf_gym.workloads",
        "gymnasium",
        "torch",
        "stable_baselines3",
        "sb3_contrib",
        "matplotlib",
    ],
    "mcsf_gym/workloads": [
        "agents",
        "evaluation",
        "training",
        "mcsf_gym.env",
        "gymnasium",
        "torch",
        "stable_baselines3",
        "matplotlib",
    ],
    "mcsf_gym/env": [
        "agents",
        "evaluation",
        "training",
        "torch",
        "stable_baselines3",
        "sb3_contrib",
    ],
    # docs/architecture.md: agents may use the environment's observation code (the learned-policy
    # adapter), never the layers above.
    "agents": ["evaluation", "training"],
    "evaluation": ["training"],
}


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violates(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_point_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_names(path):
            for forbidden in FORBIDDEN[package]:
                if violates(name, forbidden):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("module", ["mcsf_gym", "agents", "evaluation"])
def test_import_stays_light(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib', 'matplotlib', "
        "'ortools', 'highspy', 'pandas', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
