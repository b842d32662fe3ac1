"""docs/architecture.pdf builds from the diagrams and the text, shows something, and holds every section."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from scripts.archdoc import pdf, sources
from scripts.archdoc.model import Environment

from .conftest import ROOT

TEXTS = sorted((ROOT / "docs" / "architecture").glob("*.md"))


def titles() -> list[str]:
    """The first-level headings of the text: the document's sections."""
    return [match for text in TEXTS for match in re.findall(r"^# (.+)$", text.read_text(), re.MULTILINE)]


@pytest.fixture(scope="module")
def built(environments: list[Environment], rendered: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("pdf") / "architecture.pdf"
    return pdf.build(TEXTS, rendered, environments, output, "0" * 64)


def test_the_text_has_the_sections_the_brief_asks_for() -> None:
    wanted = ["request path", "fixed", "alternatives", "security", "failure", "cost", "future"]
    found = " | ".join(titles()).lower()
    assert all(word in found for word in wanted), found


def test_the_first_page_is_not_blank(built: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(built), str(tmp_path / "page")], check=True
    )
    (page,) = tmp_path.glob("page*.png")
    grey = Image.open(page).convert("L")
    dark = sum(count for level, count in enumerate(grey.histogram()) if level < 200)
    assert dark / (grey.width * grey.height) > 0.005, "the first page is (almost) white"
    assert ImageStat.Stat(grey).stddev[0] > 5


def test_the_text_holds_every_section_and_the_diagrams(built: Path) -> None:
    text = subprocess.run(["pdftotext", str(built), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for title in titles():
        assert " ".join(title.replace("`", "").split()) in flat, title
    pages = subprocess.run(["pdfinfo", str(built)], check=True, capture_output=True, text=True).stdout
    assert int(re.search(r"^Pages:\s+(\d+)", pages, re.MULTILINE).group(1)) >= len(titles())
    # The inventory table: values that differ between the environments, read from the inventories.
    assert "db.r6g.large" in flat and "db.t4g.micro" in flat


def test_the_sources_hash_is_in_the_metadata(built: Path) -> None:
    info = subprocess.run(["pdfinfo", str(built)], check=True, capture_output=True, text=True).stdout
    assert "sources-sha256:" + "0" * 64 in info


def test_a_rebuild_of_unchanged_sources_gives_the_same_bytes(
    environments: list[Environment], rendered: Path, built: Path, tmp_path: Path
) -> None:
    again = pdf.build(TEXTS, rendered, environments, tmp_path / "again.pdf", "0" * 64)
    assert again.read_bytes() == built.read_bytes()


# --------------------------------------------------------------------------- #
# The staleness check (make docs-check, a step of make lint)
# --------------------------------------------------------------------------- #
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the PDF's sources (links resolved), the committed PDF and its record."""
    for relative in [*sources.source_files(ROOT), sources.PDF, sources.RECORD]:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / relative, target)
    return tmp_path


def test_the_committed_pdf_is_up_to_date() -> None:
    assert sources.check(ROOT).problems == []


def test_the_check_fails_when_an_inventory_value_changes(tree: Path) -> None:
    assert sources.check(tree).fresh
    path = tree / "inventories" / "staging" / "group_vars" / "all" / "compute.yml"
    path.write_text(path.read_text().replace("compute_frontend_max_size: 2", "compute_frontend_max_size: 3"))
    assert sources.check(tree).problems == [f"source {path.relative_to(tree)} changed"]


def test_a_comment_in_an_inventory_does_not_make_the_pdf_stale(tree: Path) -> None:
    path = tree / "inventories" / "prod" / "group_vars" / "all" / "data.yml"
    path.write_text(path.read_text() + "# a comment\n")
    assert sources.check(tree).fresh


def test_the_check_fails_when_the_text_or_the_pdf_changes(tree: Path) -> None:
    (tree / "docs" / "architecture" / "09-new.md").write_text("# A new section\n")
    with (tree / sources.PDF).open("ab") as stream:
        stream.write(b"\n")
    assert sources.check(tree).problems == [
        f"{sources.PDF} is not the PDF {sources.RECORD} was written for",
        "new source docs/architecture/09-new.md",
    ]


def test_the_check_command_passes_on_the_repository() -> None:
    """What make lint runs: the committed PDF is as new as its sources."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.archdoc", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
