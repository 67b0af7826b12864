"""The frame strip's poses on the shipped portraits (scripts/portrait_strip.py) show no flat cavity and no smudge:
a wide-open mouth is a dark mouth with teeth and tongue in it on the painting and on both drawings, and a smile
leaves a flat drawn cheek as flat as it was."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_render_smile import luma, pose

from facecast.face import Avatar, load_image
from facecast.render import Renderer
from facecast.render.mouth import MIN_GAP
from facecast.render.mouth_library import cut_interior, load_library, shows_interior
from facecast.render.regions import FACE_OVAL, INNER_LIP, OUTER_LIP
from facecast.render.smile import cheek_relief

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PORTRAITS = ["mona_lisa.jpg", "drawing.jpg", "drawing_man.jpg"]
WIDE_OPEN = {"JawOpen": 0.8}  # the strip's "wide open"
SMILE = {"MouthSmileLeft": 0.8, "MouthSmileRight": 0.8, "CheekSquintLeft": 0.5, "CheekSquintRight": 0.5,
         "JawOpen": 0.15}  # the strip's "smile"


def polygon_mask(size: int, points: np.ndarray) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.fixture(scope="module", params=PORTRAITS)
def renderer(request: pytest.FixtureRequest) -> Renderer:
    return Renderer(Avatar.from_image(load_image(ASSETS / request.param)), 512)


def test_wide_open_mouth_is_a_dark_cavity_with_teeth_and_tongue_in_it(renderer: Renderer) -> None:
    values = pose(**WIDE_OPEN)
    moved = renderer.poses(values[None])[0].moved[:, :2]
    frame = luma(renderer.render(values))
    size = renderer.size
    cavity = polygon_mask(size, moved[INNER_LIP])
    cavity = cv2.erode(cavity.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # off the soft lip edge
    skin = polygon_mask(size, renderer.rest[FACE_OVAL, :2]) & ~polygon_mask(size, renderer.rest[OUTER_LIP, :2])
    assert cavity.sum() > 400, "a wide-open mouth shows a sizeable interior"
    inside, face = frame[cavity], frame[skin]
    # Dark: the interior's median well below the face's (a flat smear of skin or lip colour is not).
    assert np.median(inside) < 0.55 * np.median(face)
    # Structured, not a flat fill: bright teeth and a dark throat, with edges between them.
    low, high = np.percentile(inside, [10, 90])
    assert high - low > 40
    edges = np.abs(cv2.Laplacian(cv2.GaussianBlur(frame, (0, 0), 1.0), cv2.CV_32F))[cavity]
    assert edges.mean() > 1.2


def test_a_drawn_gap_between_the_lips_is_not_taken_for_the_portraits_own_mouth() -> None:
    # drawing.jpg's fitted inner lips lie apart over its flat skin: that skin-coloured "own interior", favoured as
    # the portrait's own teeth, was stretched over the wide-open mouth as a pale smear.
    renderer = Renderer(Avatar.from_image(load_image(ASSETS / "drawing.jpg")), 512)
    assert renderer.mouth.rest_gap > MIN_GAP
    assert not shows_interior(cut_interior(renderer.base, renderer.rest))
    assert renderer.mouth_library is load_library()  # no own exemplar added
    # A real interior (the painting's, as the renderer opens it) is one.
    painting = Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512)
    values = pose(JawOpen=0.55)
    assert shows_interior(cut_interior(painting.render(values), painting.poses(values[None])[0].moved))


def test_smile_leaves_a_flat_drawn_cheek_unshaded_and_a_modelled_one_shaded() -> None:
    drawing = Avatar.from_image(load_image(ASSETS / "drawing.jpg"))
    shaded, plain = Renderer(drawing, 512), Renderer(drawing, 512, cheeks="plain")
    assert cheek_relief(shaded.base, shaded.rest) < 0.1
    values = pose(**SMILE)
    diff = luma(shaded.render(values)) - luma(plain.render(values))
    face = polygon_mask(shaded.size, shaded.rest[FACE_OVAL, :2])
    assert diff[face].min() > -3, "no grey smudge on the flat cheek"
    painting = Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512)
    assert cheek_relief(painting.base, painting.rest) == 1.0
