"""The README and docs/: every relative link resolves (file and heading), every `make` target they name exists, the
README fits on a screen and shows only commands that work as written on a fresh clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
MAKE = re.compile(r"(?:^|[\s`(])make ([a-z][a-z0-9-]*)")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE))


def code_of(text: str) -> str:
    """What the docs show as code: fenced blocks and `inline` spans."""
    return "\n".join(FENCE.findall(text) + re.findall(r"`([^`\n]+)`", FENCE.sub("", text)))


@pytest.mark.parametrize("doc", DOCS, ids=shown)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(doc):
    broken = []
    for target in LINK.findall(FENCE.sub("", doc.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {shown(path)}")
    assert not broken, f"{shown(doc)}: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=shown)
def test_every_make_target_the_docs_name_exists(doc):
    missing = sorted(set(MAKE.findall(code_of(doc.read_text()))) - makefile_targets())
    assert not missing, f"{shown(doc)} names make targets the Makefile lacks: {missing}"


def test_the_readme_fits_on_a_screen_and_starts_with_what_works():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    commands = [line.split("#")[0].strip() for block in re.findall(r"^```bash\n(.*?)^```", readme, re.M | re.S)
                for line in block.splitlines() if line.split("#")[0].strip()]
    assert commands[:2] == ["make test", "make up"], "the two commands, the one that works anywhere first"
    for command in commands:  # every command works as written on a fresh clone: no bare python, no activated venv
        assert re.match(r"(make|curl|git|cd|docker) ", command + " "), command
    for section in ("The two commands", "Where to read on"):
        assert f"## {section}" in readme


def test_the_readme_links_to_every_page_of_docs():
    readme = (ROOT / "README.md").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md") if not p.name.startswith("architecture-")}
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme) if t.startswith("docs/")}
    assert not sorted(pages - linked - {"plan-tables.md"} - _pages_of_open_work()), "pages the README does not link"


def _pages_of_open_work() -> set[str]:
    """Pages other work adds; the README links them once they exist in the repository (see the report of #14)."""
    return {"plan.md", "operations.md", "compose.md"}


def test_no_file_cites_a_design_document_outside_the_repository():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the tracked files")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    citing = [f for f in files if f != "tests/test_docs.py" and (ROOT / f).is_file()
              and "DESIGN.md" in (ROOT / f).read_text(errors="ignore")]
    assert not citing, citing
