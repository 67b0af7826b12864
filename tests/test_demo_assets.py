"""The demo's and docs' pictures show no real person's likeness (issue 13 #10): the demo and the README render
the public-domain drawings, whose source and licence are written down, and both are animatable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from terminal import assert_ok, run_in_terminal

ROOT = Path(__file__).resolve().parents[1]
DRAWINGS = ("drawing.jpg", "drawing_man.jpg")


def test_drawings_are_listed_with_source_and_a_public_domain_licence() -> None:
    sources = (ROOT / "assets" / "SOURCES.md").read_text()
    for name in DRAWINGS:
        row = next(line for line in sources.splitlines() if line.startswith(f"| {name} |"))
        assert "openclipart" in row and "public domain" in row.lower(), row


def test_demo_and_readme_use_the_drawings_not_the_lookalike_portraits() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--image assets/drawing.jpg" in demo and "portrait.jpg" not in demo and "painting.jpg" not in demo
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"assets/(portrait|painting)\.jpg", readme)
    script = (ROOT / "scripts" / "render_frame_strip.py").read_text()
    assert 'PORTRAITS = ("drawing.jpg", "drawing_man.jpg")' in script


@pytest.mark.parametrize("name", DRAWINGS)
def test_each_drawing_is_fitted_as_an_avatar(tmp_path: Path, name: str) -> None:
    output = assert_ok(run_in_terminal("avatar", str(ROOT / "assets" / name), "-o", "face.fcavatar", cwd=tmp_path))
    assert "detected" in output
