"""Head translation in the rendered picture: the face moves by the translation's pixels, zero translation changes
nothing, bad translations are refused or held, and render → capture and capture → render put the head where it
was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Avatar, fit_face, load_image
from facecast.face.capture import METRES_PER_UNIT, RIGID_POINTS, capture_video
from facecast.face.portrait_rig import face_frame
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, render_frames, write_video
from facecast.render.translate import MAX_TRANSLATION_M
from facecast.render.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
# A dev train clip (not the test set) whose head moves across the picture by some 2 cm.
DEV_CLIP = DATA / "train" / "voxceleb2_pcavs" / "Audio_Source_00086.mp4"
RIGID = list(RIGID_POINTS)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(Avatar.from_image(load_image(ASSETS / "drawing_man.jpg")), 512)


def talking(frames: int = 6) -> np.ndarray:
    """Motion values with an open jaw, a blink, a turn and a nod, so every part of the renderer draws."""
    values = np.zeros((frames, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["JawOpen"]] = np.linspace(0.0, 0.6, frames)
    values[frames // 2, CHANNEL_INDEX["EyeBlinkLeft"]] = 1.0
    values[:, CHANNEL_INDEX["HeadYaw"]] = np.linspace(-0.2, 0.2, frames)
    values[:, CHANNEL_INDEX["HeadPitch"]] = 0.05
    values[:, CHANNEL_INDEX["MouthSmileLeft"]] = 0.5
    return values


def rigid_centre(image: np.ndarray) -> np.ndarray:
    """Centroid of capture's rigid points as the face-mesh model finds them in ``image`` [2]."""
    return fit_face(image).landmarks[RIGID, :2].mean(axis=0)


@pytest.mark.parametrize("metres, axis", [((0.01, 0.0, 0.0), 0), ((0.0, 0.01, 0.0), 1)])
def test_a_centimetre_of_translation_moves_the_found_face_by_its_pixels(renderer: Renderer, metres: tuple,
                                                                          axis: int) -> None:
    values = np.zeros((1, NUM_CHANNELS), np.float32)
    still = renderer.render(values[0])
    moved = renderer.render(values[0], np.array(metres, np.float32))
    frame = face_frame(renderer.rest)
    pixels = frame.scale / METRES_PER_UNIT * 0.01  # one centimetre, as capture converts it
    expected = np.zeros(2)
    expected[axis] = pixels if axis == 0 else -pixels  # x right; y up is up in the picture (image y down)
    # The portrait is frontal: its face axes are the picture's to within a degree or two. The face-mesh model reads
    # a little less than a move (it finds this frame shifted by 18 px as a whole, white filled in, 17.1 px to the
    # right and 0.6 px down), hence the tolerance.
    found = rigid_centre(moved) - rigid_centre(still)
    print(f"{metres}: expected {expected.round(2)} px, found {found.round(2)} px")
    assert pixels > 10
    assert np.abs(found - expected).max() < 1.5


def test_zero_translation_renders_the_frames_bit_for_bit(renderer: Renderer) -> None:
    values = talking()
    without = list(renderer.frames(values))
    with_zeros = list(renderer.frames(values, np.zeros((len(values), 3), np.float32)))
    assert all(np.array_equal(a, b) for a, b in zip(without, with_zeros, strict=True))


def test_a_renderer_that_does_not_translate_ignores_the_translation(renderer: Renderer) -> None:
    avatar = Avatar.from_image(load_image(ASSETS / "drawing_man.jpg"))
    still = Renderer(avatar, 256, translate=False)
    values = talking(2)
    shift = np.full((2, 3), 0.02, np.float32)
    assert all(np.array_equal(a, b) for a, b in zip(still.frames(values), still.frames(values, shift), strict=True))
    moving = Renderer(avatar, 256)
    assert not np.array_equal(next(moving.frames(values)), next(moving.frames(values, shift)))


def test_everything_on_the_head_moves_with_it(renderer: Renderer) -> None:
    """Mesh, eyes' resting shapes and anchors: a pure shift of a still face moves every landmark alike, and the
    picture far from the head stays where it was."""
    values = np.zeros((1, NUM_CHANNELS), np.float32)
    metres = np.array([[0.012, -0.008, 0.0]], np.float32)
    pose = renderer.poses(values, metres)[0]
    step = (pose.moved - renderer.rest)[:, :2]
    assert np.allclose(step, step[0], atol=1e-3) and np.allclose(pose.carried[:, :2] - renderer.rest[:, :2], step[0],
                                                                 atol=1e-3)
    frame, still = renderer.render(values[0], metres[0]), renderer.render(values[0])
    corner = np.s_[:40, :40]
    assert np.abs(frame[corner].astype(int) - still[corner]).max() <= 1
    assert np.abs(frame.astype(int) - still).mean() > 1.0


def test_a_clip_renders_with_its_own_translation(renderer: Renderer) -> None:
    values = talking(3)
    translation = np.array([[0.0, 0.0, 0.0], [0.01, 0.0, 0.0], [0.02, 0.0, 0.0]], np.float32)
    frames = list(render_frames(MotionClip(30, values, translation), renderer))
    assert all(np.array_equal(a, b) for a, b in zip(frames, renderer.frames(values, translation), strict=True))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_translation_is_invalid_input(renderer: Renderer, bad: float) -> None:
    values = talking(2)
    translation = np.zeros((2, 3), np.float32)
    translation[1, 0] = bad
    with pytest.raises(InvalidInput, match="head translation must be finite"):
        list(renderer.frames(values, translation))
    with pytest.raises(InvalidInput, match="head translation must be finite"):
        renderer.render(values[0], translation[1])


def test_translation_of_the_wrong_shape_is_invalid_input(renderer: Renderer) -> None:
    with pytest.raises(InvalidInput, match=r"one row per frame \(2\)"):
        list(renderer.frames(talking(2), np.zeros((3, 3), np.float32)))


def test_a_huge_translation_is_held_at_the_bound(renderer: Renderer) -> None:
    values = np.zeros((1, NUM_CHANNELS), np.float32)
    huge = renderer.render(values[0], np.array([50.0, -1e6, 3.0], np.float32))
    bound = renderer.render(values[0], np.array([MAX_TRANSLATION_M, -MAX_TRANSLATION_M, MAX_TRANSLATION_M]))
    assert np.array_equal(huge, bound)


@pytest.mark.slow
def test_render_then_capture_recovers_the_translation(tmp_path: Path) -> None:
    """A head swaying 1.5 cm sideways and 1 cm up and down while it turns, rendered to H.264 and captured back:
    capture measures the motion the renderer drew."""
    fps, t = 30, np.arange(75) / 30
    values = np.zeros((len(t), NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["HeadYaw"]] = 0.08 * np.sin(2 * np.pi * 0.5 * t + 1.0)
    values[:, CHANNEL_INDEX["JawOpen"]] = 0.2 * (1 - np.cos(2 * np.pi * 1.5 * t))
    translation = np.stack([0.015 * np.sin(2 * np.pi * 0.8 * t), 0.01 * np.sin(2 * np.pi * 0.6 * t + 2.0),
                            np.zeros_like(t)], axis=1).astype(np.float32)
    path = tmp_path / "moving.mp4"
    write_video(path, MotionClip(fps, values, translation),
                Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512))
    with pytest.warns(UserWarning):  # no sound
        captured = capture_video(path, fps=fps, progress=False).clip.head_translation
    n = min(len(captured), len(translation))
    given = translation[:n, :2] - np.median(translation[:n, :2], axis=0)
    got = captured[:n, :2] - np.median(captured[:n, :2], axis=0)
    for axis in (0, 1):
        r = float(np.corrcoef(got[:, axis], given[:, axis])[0, 1])
        gain = float(np.polyfit(given[:, axis], got[:, axis], 1)[0])
        error = float(np.abs(got[:, axis] - given[:, axis]).mean())
        print(f"axis {axis}: r {r:.3f}, gain {gain:.2f}, mean error {error * 1000:.1f} mm")
        assert r > 0.95 and 0.8 < gain < 1.2 and error < 0.002


@pytest.mark.slow
@pytest.mark.skipif(not DEV_CLIP.exists(), reason="needs ../shared/data (a dev train clip of a moving head)")
def test_capture_then_render_puts_the_head_where_the_video_had_it() -> None:
    """Self-reenactment of a real clip: the rendered head's rigid centroid follows the real one's."""
    cap = capture_video(DEV_CLIP, progress=False)
    first = next(read_frames(DEV_CLIP, max_frames=1))
    with pytest.warns(UserWarning):  # two faces in the first frame; the largest is the speaker
        avatar = Avatar.from_image(first)
    renderer = Renderer(avatar, 256)
    n = min(90, cap.clip.num_frames)
    values = cap.clip.values[:n] - cap.clip.values[:1]
    translation = cap.clip.head_translation[:n] - cap.clip.head_translation[:1]
    # The video frame shown at each clip frame's time (the clip is resampled to its fps).
    shown = np.clip(np.searchsorted(cap.frame_times, (np.arange(n) - 0.5) / cap.clip.fps), 0, len(cap.landmarks) - 1)
    real = np.stack([renderer.crop.points(cap.landmarks[j]) for j in shown])[:, RIGID, :2].mean(axis=1)
    ok = np.isfinite(real).all(axis=1)
    errors = {}
    for name, moving in (("translated", translation), ("in place", None)):
        ours = renderer.meshes(values, moving)[:, RIGID, :2].mean(axis=1)
        errors[name] = float(np.linalg.norm(ours[ok] - real[ok], axis=1).mean())
    travel = float(np.linalg.norm(real[ok] - real[0], axis=1).max())
    print(f"head travel up to {travel:.1f} px; centroid error {errors}")
    assert travel > 8
    assert errors["translated"] < 0.35 * errors["in place"] and errors["translated"] < 2.0


@pytest.mark.slow
def test_daemon_texture_frames_show_the_animators_head_translation(daemon: Any) -> None:
    """Animate with the learned animator (which moves the head) and RGBA textures over real gRPC: each texture is
    the portrait rendered with that frame's values and head translation."""
    from facecast.client import Client, texture_options
    from facecast.render.texture import decode_texture

    with Client(daemon.address, timeout=120) as client:
        avatar_id = client.create_avatar(ASSETS / "drawing_man.jpg").avatar_id
        try:
            responses = list(client.animate_responses(ASSETS / "speech_en.wav", animator="neural", texture=(
                texture_options(avatar_id, "rgba", size=128))))
        finally:
            client.delete_avatar(avatar_id)
    frames = [f for r in responses if r.WhichOneof("kind") == "frames" for f in r.frames.frames][:40]
    textures = {r.texture.index: r.texture for r in responses if r.WhichOneof("kind") == "texture"}
    values = np.array([f.values for f in frames], np.float32)
    translation = np.array([f.head_translation for f in frames], np.float32)
    assert np.abs(translation[:, :2]).max() > 0.002  # the animator moves the head by millimetres at least
    local = Renderer(Avatar.from_image(load_image(ASSETS / "drawing_man.jpg")), 128)
    still = list(local.frames(values))
    for f, image in zip(frames, local.frames(values, translation), strict=True):
        got = decode_texture(textures[f.index].data, "rgba", 128, 128)
        assert np.array_equal(got, image)
    moved = np.flatnonzero(np.abs(translation[:, :2]).max(axis=1) > 0.002)
    assert any(not np.array_equal(decode_texture(textures[frames[i].index].data, "rgba", 128, 128), still[i])
               for i in moved)
