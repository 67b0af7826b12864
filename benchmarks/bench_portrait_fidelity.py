"""Portrait fidelity by self-reenactment: how close a rendered portrait comes to the real video it imitates.

    .venv/bin/python benchmarks/bench_portrait_fidelity.py [--seconds 8] [--videos PATH ...] [--json out.json]
        [--renderers today new] [--frames DIR]

(``--frames DIR``: per video a JSON of every renderer's per-frame face SSIM and the head's turn and translation
since the first frame, for per-frame analysis.)

(``FACECAST_SHARED_DATA`` points at the shared data when it is not ``../shared/data``.)

For every real talking video: its first frame becomes the portrait, `facecast capture` of the same video
drives it (the captured channels minus their values at the first frame, which the portrait already shows),
and every rendered frame is compared with the real frame at the same time, cropped the way the renderer
crops the portrait (so both show the same window at 512x512):

- mouth: a 96x72 patch whose mouth corners sit at fixed places, cut from each picture by its own landmarks
  (the real frame's captured mesh, the render's moved mesh), so head drift does not count, only appearance;
- face: the box around the portrait's face oval, the same pixels in both;
- PSNR (RGB) and SSIM (luma, Gaussian window sigma 1.5) per frame, averaged over frames;
- the yardstick tracker's mouth opening (``../shared/tools/mouth_track.py``, independent of facecast's own
  landmark pipeline) on the rendered frames against the real ones: Pearson r and mean absolute difference.

Each renderer in ``RENDERERS`` (or those named by ``--renderers``) is run on the same capture in the same
process: the first renderer's painted mouth and lids and 2-D head ("classic"), the default of before the
surface head and the smile shading ("today": the 2-D head warp, plain cheeks, the rig's lower lip, the head kept
in place), the default without head translation ("still") and the default ("new", the head moved across the
picture by the captured translation, minus its value at the first frame as the channels).
Test set: ``../shared/data/video``; plus clips of ``../shared/data/train`` the mouth library does not use
(see ``assets/mouths/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facecast.face import Avatar
from facecast.face import topology as T
from facecast.face.capture import capture_video
from facecast.render import Renderer
from facecast.render.regions import FACE_OVAL
from facecast.render.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED = DATA.parent
TEST_VIDEOS = sorted((DATA / "video").glob("*.mp4"))
# Train clips the mouth library was not cut from (assets/mouths/README.md lists the ones it was).
HELD_OUT_TRAIN = [DATA / "train" / p for p in (
    "styletalk/andrew_clip_1.mp4", "voxceleb2_pcavs/Audio_Source_00015.mp4",
    "misc/aniportrait_pose_ref_video.mp4", "grid_other/brbk7n.mp4")]
RENDERERS: dict[str, dict[str, Any]] = {
    "classic": {"mouth": "painted", "eyelids": "painted", "head": "flat", "cheeks": "plain", "lips": "rig",
                "translate": False},
    "today": {"head": "flat", "cheeks": "plain", "lips": "rig", "translate": False},
    "still": {"translate": False},  # the default without head translation
    "new": {}}
MOUTH_PATCH = (96, 72)  # width, height
MOUTH_CORNERS_AT = ((16.0, 30.0), (80.0, 30.0))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two grey float images (Wang et al. 2004, Gaussian window, sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def mouth_patch(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The mouth cut out by a similarity that puts its corners at MOUTH_CORNERS_AT."""
    src = landmarks[[T.MOUTH_CORNER_RIGHT, T.MOUTH_CORNER_LEFT], :2].astype(np.float64)
    dst = np.array(MOUTH_CORNERS_AT)
    s, d = src[1] - src[0], dst[1] - dst[0]
    zs, zd = complex(*s), complex(*d)
    k = zd / zs if abs(zs) > 1e-6 else 1.0
    a, b = k.real, k.imag
    t = dst[0] - np.array([a * src[0, 0] - b * src[0, 1], b * src[0, 0] + a * src[0, 1]])
    m = np.array([[a, -b, t[0]], [b, a, t[1]]], np.float32)
    return cv2.warpAffine(image, m, MOUTH_PATCH, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def yardstick() -> object | None:
    """The shared tracker (``../shared/tools/mouth_track.py``), or None where it is not installed."""
    tools = SHARED / "tools"
    if not (tools / "mouth_track.py").exists():
        return None
    sys.path.insert(0, str(tools))
    try:
        from mouth_track import Tracker  # type: ignore[import-not-found, unused-ignore]

        return Tracker
    except Exception as e:  # a missing model file or runtime: report and go on without it
        print(f"(yardstick tracker unavailable: {e})")
        return None


def opening(tracker: object, frames: list[np.ndarray]) -> np.ndarray:
    values = []
    for frame in frames:
        pts = tracker.landmarks(frame)  # type: ignore[attr-defined]
        values.append(np.nan if pts is None else np.linalg.norm(pts[13] - pts[14]) / np.linalg.norm(pts[33] - pts[263]))
    return np.asarray(values, np.float32)


@dataclass
class Scores:
    mouth_psnr: float
    mouth_ssim: float
    face_psnr: float
    face_ssim: float
    track_r: float
    track_mae: float
    fps: float


def evaluate(path: Path, seconds: float, size: int, tracker_cls: object | None,
             renderers: dict[str, dict[str, Any]] = RENDERERS,
             frames_json: Path | None = None) -> dict[str, Scores]:
    cap = capture_video(path, progress=False)
    real = list(read_frames(path))
    n_video = min(len(real), len(cap.landmarks))
    clip = cap.clip
    frames_wanted = min(clip.num_frames, int(round(seconds * clip.fps)))
    times = np.arange(frames_wanted) / clip.fps
    index = np.clip(np.searchsorted(cap.frame_times[:n_video], times - 0.5 / clip.fps), 0, n_video - 1)
    avatar = Avatar.from_image(real[0], source=path.name)
    results: dict[str, Scores] = {}
    per_frame: dict[str, dict[str, float]] = {}
    real_crops: list[np.ndarray] | None = None
    real_points: list[np.ndarray] | None = None
    real_open: np.ndarray | None = None
    for name, options in renderers.items():
        renderer = Renderer(avatar, size, **options)
        if real_crops is None:
            real_crops = [renderer.crop.image(real[j]) for j in index]
            real_points = [renderer.crop.points(cap.landmarks[j]) for j in index]
            if tracker_cls is not None:
                real_open = opening(tracker_cls(), real_crops)  # type: ignore[operator]
        assert real_points is not None
        oval = renderer.rest[FACE_OVAL, :2]
        (x0, y0), (x1, y1) = np.floor(oval.min(0)).astype(int), np.ceil(oval.max(0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
        # The portrait already shows the first frame's expression and pose: drive it by the motion since then.
        values = clip.values[:frames_wanted] - clip.values[:1]
        translation = clip.head_translation[:frames_wanted] - clip.head_translation[:1]
        start = time.perf_counter()
        rendered = list(renderer.frames(values, translation))
        fps = len(rendered) / (time.perf_counter() - start)
        meshes = renderer.meshes(values, translation)
        m_p, m_s, f_p, f_s, kept = [], [], [], [], []
        for i, (frame, mesh, truth, points) in enumerate(zip(rendered, meshes, real_crops, real_points, strict=True)):
            if not np.isfinite(points).all():
                continue
            kept.append(i)
            a, b = mouth_patch(frame, mesh), mouth_patch(truth, points)
            m_p.append(psnr(a, b))
            m_s.append(ssim(grey(a), grey(b)))
            fa, fb = frame[y0:y1, x0:x1], truth[y0:y1, x0:x1]
            f_p.append(psnr(fa, fb))
            f_s.append(ssim(grey(fa), grey(fb)))
        r = mae = float("nan")
        if tracker_cls is not None and real_open is not None:
            ours = opening(tracker_cls(), rendered)  # type: ignore[operator]
            ok = np.isfinite(ours) & np.isfinite(real_open)
            if ok.sum() > 2:
                r = float(np.corrcoef(ours[ok], real_open[ok])[0, 1])
                mae = float(np.abs(ours[ok] - real_open[ok]).mean())
        results[name] = Scores(float(np.mean(m_p)), float(np.mean(m_s)), float(np.mean(f_p)), float(np.mean(f_s)),
                               r, mae, fps)
        per_frame[name] = dict(zip(map(str, kept), f_s, strict=True))
    if frames_json is not None:  # per-frame face SSIM and the head's motion since the first frame, for analysis
        pose = {"yaw_pitch_roll": (clip.values[:frames_wanted, 52:55] - clip.values[:1, 52:55]).tolist(),
                "translation": (clip.head_translation[:frames_wanted] - clip.head_translation[:1]).tolist()}
        frames_json.write_text(json.dumps({"face_ssim": per_frame, **pose}))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="frames compared per video (from the start)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--videos", nargs="*", type=Path, help="default: the test set and held-out train clips")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--renderers", nargs="*", choices=list(RENDERERS), help="default: all")
    parser.add_argument("--frames", type=Path, help="write per-frame face SSIM per video into this folder")
    args = parser.parse_args()
    renderers = {name: RENDERERS[name] for name in (args.renderers or RENDERERS)}
    videos = args.videos or TEST_VIDEOS + [p for p in HELD_OUT_TRAIN if p.exists()]
    if not videos:
        sys.exit("no videos: ../shared/data is not here; pass --videos")
    tracker_cls = yardstick()
    print("| video | renderer | mouth PSNR | mouth SSIM | face PSNR | face SSIM | yardstick r | yardstick MAE | fps |")
    print("|---|---|---|---|---|---|---|---|---|")
    table = {}
    for path in videos:
        per_frame = None if args.frames is None else args.frames / f"{path.stem}.json"
        if args.frames is not None:
            args.frames.mkdir(parents=True, exist_ok=True)
        scores = evaluate(path, args.seconds, args.size, tracker_cls, renderers, per_frame)
        table[path.name] = {name: vars(s) for name, s in scores.items()}
        for name, s in scores.items():
            print(f"| {path.stem} | {name} | {s.mouth_psnr:.2f} | {s.mouth_ssim:.4f} | {s.face_psnr:.2f} | "
                  f"{s.face_ssim:.4f} | {s.track_r:.3f} | {s.track_mae:.4f} | {s.fps:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
