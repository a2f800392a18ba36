"""Every relative link and every repository path that the README and docs/*.md name resolves.

Links: ``[text](target)`` with a relative target must name an existing file or folder (and an
existing heading when it has ``#anchor``). Paths: a backticked ``dir/...`` whose first part is a
folder of the repository (``docs/model.md``, ``training/configs/smoke.toml``) must exist, unless it
is a pattern (``*``, ``NAME``, ``X``) or a placeholder for something a command writes.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
REPO_DIRS = {"mcsf_gym", "agents", "evaluation", "training", "tests", "docs", "benchmarks",
             "scripts", "models", ".ci"}  # fmt: skip
REPO_PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(map(re.escape, REPO_DIRS)) + r")/[\w./-]*)")
ENV_ID = re.compile(r"-v\d+$")  # a Gymnasium id such as mcsf_gym/KVCacheScheduling-v0
PLACEHOLDER = re.compile(r"[*<>{}]|\bNAME\b|\bX\b|\bN\b|\.\.\.")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[`*_\[\]()]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.MULTILINE)}


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path):
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file, _, anchor = target.partition("#")
        resolved = (doc.parent / file).resolve() if file else doc
        if not resolved.exists():
            broken.append(f"{target} (no {resolved})")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    assert not broken, f"{doc.name}: broken links: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_repository_paths_exist(doc: Path):
    missing = []
    for token in CODE.findall(doc.read_text()):
        for path in REPO_PATH.findall(token):
            if PLACEHOLDER.search(path) or ENV_ID.search(path):
                continue
            if not (ROOT / path.rstrip("/.")).exists():
                missing.append(path)
    assert not missing, f"{doc.name} names paths that do not exist: {sorted(set(missing))}"


def test_no_document_points_outside_the_repository():
    for doc in DOCS:
        for target in links(doc):
            if not re.match(r"^[a-z]+:", target):
                assert (doc.parent / target.partition("#")[0]).resolve().is_relative_to(ROOT), (
                    f"{doc.name} links {target}, outside the repository"
                )
