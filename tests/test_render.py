"""The portrait renderer: frames at rest are the portrait, motion changes only the face, mouth, eyes and gaze
do what the channels say, on photos and paintings."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, render_frames
from facecast.render.regions import FACE_OVAL, INNER_LIP, eye_contour
from facecast.render.watermark import Watermarker

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512)


def pose(**channels: float) -> np.ndarray:
    values = np.zeros(NUM_CHANNELS, np.float32)
    for name, value in channels.items():
        values[CHANNEL_INDEX[name]] = value
    return values


def polygon_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[:, :2]).astype(np.int32)], 1)
    return mask.astype(bool)


def head_region(r: Renderer, scale: float = 1.7) -> np.ndarray:
    """The face oval scaled ``scale`` times about its centre: where the face, hair and neck may move."""
    oval = r.rest[FACE_OVAL, :2]
    centre = oval.mean(axis=0)
    return polygon_mask((r.size, r.size), centre + (oval - centre) * scale)


def marked_base(r: Renderer) -> np.ndarray:
    return Watermarker(r.size, r.size).apply(r.base)


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def dark_x(image: np.ndarray, inside: np.ndarray) -> float:
    """x of the centre of darkness inside an eye opening: where the iris is."""
    ys, xs = np.nonzero(inside)
    weight = (255 - luma(image)[ys, xs]) ** 2
    return float((xs * weight).sum() / weight.sum())


def test_rest_frame_is_the_portrait(renderer: Renderer) -> None:
    frame = renderer.render(pose())
    assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
    # At rest nothing moves: the frame is the cropped portrait plus the (invisible) watermark, pixel for pixel.
    np.testing.assert_array_equal(frame, marked_base(renderer))
    assert np.abs(frame.astype(int) - renderer.base).max() <= 2


def test_expression_changes_only_the_face(renderer: Renderer) -> None:
    frame = renderer.render(pose(JawOpen=0.6, EyeBlinkLeft=1, EyeBlinkRight=1, MouthSmileLeft=0.5))
    diff = np.abs(frame.astype(float) - marked_base(renderer)).mean(axis=2)
    outside = ~head_region(renderer)
    assert diff[outside].mean() < 0.05, "background and hair must stay still"
    assert diff[outside].max() <= 2
    assert diff[~outside].mean() > 3, "the face must move"


def test_jaw_open_shows_a_dark_mouth(renderer: Renderer) -> None:
    rest = renderer.render(pose())
    open_values = pose(JawOpen=0.7)
    frame = renderer.render(open_values)
    moved = renderer.meshes(open_values[None])[0]
    mouth = polygon_mask(frame.shape, moved[INNER_LIP])
    assert mouth.sum() > 200, "the lips must part"
    # The lip gap holds the interior: much darker on average than the lips that were there.
    assert luma(frame)[mouth].mean() < luma(rest)[mouth].mean() - 30
    far = ~head_region(renderer)
    np.testing.assert_array_equal(frame[far], rest[far])


def test_painted_blink_covers_the_eyes_with_lid_skin() -> None:
    # The first renderer's lids, kept for comparison (the default slides the portrait's own lid: see
    # tests/test_render_lifelike.py).
    renderer = Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512, eyelids="painted")
    rest = renderer.render(pose())
    closed = renderer.render(pose(EyeBlinkLeft=1, EyeBlinkRight=1))
    half = renderer.render(pose(EyeBlinkLeft=0.5, EyeBlinkRight=0.5))
    for eye in renderer.eyes:
        contour = renderer.rest[eye_contour(eye.side)]
        inside = polygon_mask(rest.shape, contour)
        # The upper two thirds of the opening: the closed lid covers it (the lash line lies lower down).
        top, bottom = contour[:, 1].min(), contour[:, 1].max()
        inside[int(top + 0.66 * (bottom - top)):] = False
        # The open eye has a dark iris and bright white; the closed lid is even skin.
        spread_open = luma(rest)[inside].std()
        spread_half = luma(half)[inside].std()
        spread_closed = luma(closed)[inside].std()
        assert spread_closed < 0.4 * spread_open
        assert spread_closed < spread_half < spread_open * 1.05
        skin_distance = np.abs(closed[inside].astype(float) - eye.lid_skin).mean()
        assert skin_distance < 0.5 * np.abs(rest[inside].astype(float) - eye.lid_skin).mean()


@pytest.mark.parametrize("yaw", [0.4, -0.4])
def test_irises_follow_gaze(renderer: Renderer, yaw: float) -> None:
    frame = renderer.render(pose(LeftEyeYaw=yaw, RightEyeYaw=yaw))
    rest = renderer.render(pose())
    for eye in renderer.eyes:
        inside = polygon_mask(rest.shape, renderer.rest[eye_contour(eye.side)])
        # +yaw looks to the subject's left, which is the picture's right.
        shift = dark_x(frame, inside) - dark_x(rest, inside)
        assert np.sign(shift) == np.sign(yaw) and abs(shift) > 1.0


def test_gaze_from_eye_look_blendshapes(renderer: Renderer) -> None:
    # A clip that only carries EyeLook* (no eye rotation channels) moves the irises as the rotations would.
    looking = renderer.render(pose(EyeLookOutLeft=0.8, EyeLookInRight=0.8))
    turned = renderer.render(pose(EyeLookOutLeft=0.8, EyeLookInRight=0.8, LeftEyeYaw=0.4, RightEyeYaw=0.4))
    assert np.abs(looking.astype(int) - renderer.render(pose(EyeLookOutLeft=0.8, EyeLookInRight=0.8,
                                                              LeftEyeYaw=-0.4, RightEyeYaw=-0.4))).max() > 50
    assert np.abs(looking.astype(int) - turned.astype(int)).max() <= 3


def test_render_frames_follows_the_clip(renderer: Renderer) -> None:
    t = np.arange(20) / 30
    values = np.zeros((20, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["JawOpen"]] = 0.5 * (1 - np.cos(2 * np.pi * t * 1.5))
    frames = list(render_frames(MotionClip(30, values), renderer))
    assert len(frames) == 20
    np.testing.assert_array_equal(frames[0], renderer.render(values[0]))
    np.testing.assert_array_equal(frames[13], renderer.render(values[13]))
    changes = [np.abs(f.astype(int) - frames[0]).mean() for f in frames]
    assert int(np.argmax(changes)) in (9, 10, 11)  # the jaw is widest at t = 1/3 s


def test_other_sizes(assets) -> None:
    avatar = Avatar.from_image(load_image(assets / "drawing_man.jpg")[:, 64:-64])  # a tall picture (384x512)
    small = Renderer(avatar, 256)
    frame = small.render(pose(JawOpen=0.5))
    assert frame.shape == (256, 256, 3)
    with pytest.raises(InvalidInput, match="render size"):
        Renderer(avatar, 32)
    with pytest.raises(InvalidInput, match="render size"):
        Renderer(avatar, 5000)


def test_bad_motion_values(renderer: Renderer) -> None:
    with pytest.raises(InvalidInput, match="61"):
        renderer.meshes(np.zeros((3, 52)))
    bad = np.zeros((2, NUM_CHANNELS), np.float32)
    bad[1, 0] = np.nan
    with pytest.raises(InvalidInput, match="finite"):
        renderer.meshes(bad)


def test_shared_portraits_render(shared_data) -> None:
    """Photos and paintings: rest is the portrait; speaking moves the mouth and keeps the background."""
    rendered = 0
    for path in sorted((shared_data / "portraits").glob("*.jpg")):
        try:
            avatar = Avatar.from_image(load_image(path))
        except InvalidInput:
            continue  # fitting errs clearly on pictures without a usable face; that is tested with fitting
        r = Renderer(avatar, 384)
        np.testing.assert_array_equal(r.render(pose()), marked_base(r), err_msg=path.name)
        frame = r.render(pose(JawOpen=0.5, EyeBlinkLeft=1, EyeBlinkRight=1))
        diff = np.abs(frame.astype(float) - marked_base(r)).mean(axis=2)
        outside = ~head_region(r)
        assert diff[outside].mean() < 0.05, path.name
        assert diff[~outside].mean() > 2, path.name
        rendered += 1
    assert rendered >= 6


def test_head_motion_alone_does_not_repaint_the_eyes(renderer: Renderer) -> None:
    # Turning or tipping the head carries the eyes along; no lid or iris is painted over them.
    from facecast.render.eyes import draw_eye

    for values in (pose(HeadRoll=0.15), pose(HeadYaw=0.1, HeadPitch=0.05), pose(HeadPitch=-0.1)):
        frame_pose = renderer.poses(values[None])[0]
        np.testing.assert_allclose(frame_pose.gaze, 0, atol=1e-3)
        frame = renderer.warp.warp(renderer.base, frame_pose.moved)
        painted = frame.copy()
        for eye in renderer.eyes:
            draw_eye(painted, frame_pose.moved, frame_pose.carried, np.zeros(2), eye)
        np.testing.assert_array_equal(painted, frame)


def test_large_picture_and_face_at_the_edge(renderer: Renderer) -> None:
    from facecast.face import FaceFit

    avatar = Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg"))
    fit = avatar.fit

    def moved_fit(landmarks: np.ndarray, image: np.ndarray) -> FaceFit:
        return FaceFit(landmarks.astype(np.float32), fit.box, (image.shape[1], image.shape[0]), fit.score,
                       fit.source, fit.faces_found)

    # An 8x larger picture frames the same face: same crop, up to resampling. The painting's fine craquelure
    # resamples differently from the two sizes (5.2 grey levels apart unblurred), so compare at the scale of the
    # crop's placement: blurred (sigma 1.5 px) the two are 0.5 apart, and a crop 2 px off is 4.1 apart.
    big = cv2.resize(avatar.image, None, fx=8, fy=8, interpolation=cv2.INTER_LINEAR)
    large = Renderer(Avatar(big, moved_fit(fit.landmarks * 8, big), avatar.rig_scale * 8), 512)
    blurred = [cv2.GaussianBlur(base, (0, 0), 1.5).astype(float) for base in (large.base, renderer.base)]
    assert np.abs(blurred[0] - blurred[1]).mean() < 2
    # A face cut by the picture's edge: the crop repeats the edge pixels, and rendering still works.
    cut = np.ascontiguousarray(avatar.image[:, 150:])
    edge = Renderer(Avatar(cut, moved_fit(fit.landmarks - [150, 0, 0], cut), avatar.rig_scale), 512)
    frame = edge.render(pose(JawOpen=0.5, HeadYaw=0.1))
    assert frame.shape == (512, 512, 3)
    np.testing.assert_array_equal(edge.render(pose()), marked_base(edge))
