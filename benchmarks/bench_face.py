"""Face benchmarks: fitting time per image, capture speed, and how capture's JawOpen follows the mouth.

    .venv/bin/python benchmarks/bench_face.py [--videos ../shared/data/video] [--mouth-track DIR]

Prints: fitting ms per image (median of repeats, detection + 3 mesh passes) on the shipped and shared portraits;
capture fps per video (decode + track + solve, one thread for the mesh model); for each video the Pearson r
between capture's JawOpen and its own inner-lip gap, and, with ``--mouth-track DIR`` holding
``mt_<video>.npy`` arrays from /work/shared/tools/mouth_track.py, r against that independent tracker.
A 512-pixel synthetic video (the shipped portrait, moving) is timed too, so the figure exists without the shared data.
With ``--animators energy phonetic ...`` it also prints each animator's lip-sync r against capture's JawOpen (the
video's own sound animated at the clip's fps; lag 0 and the best lag within +-5 frames, positive = animator late).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from facecast.face import fit_face, load_image
from facecast.face.capture import capture_video

ROOT = Path(__file__).resolve().parents[1]


def bench_fitting(paths: list[Path], repeats: int = 5) -> None:
    print(f"fitting (detect + mesh, ms per image, median of {repeats}):")
    all_times = []
    for path in paths:
        image = load_image(path)
        fit_face(image)  # load the models once
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fit_face(image)
            times.append((time.perf_counter() - start) * 1000)
        all_times.append(statistics.median(times))
        print(f"  {path.name:32s} {image.shape[1]}x{image.shape[0]:<5d} {all_times[-1]:6.1f} ms")
    print(f"  median over images: {statistics.median(all_times):.1f} ms")


def synthetic_video(path: Path, frames: int = 300) -> None:
    """The shipped portrait at 512x512, drifting and turning a little, as H.264 without sound."""
    import av
    import cv2

    face = cv2.resize(load_image(ROOT / "assets" / "mona_lisa.jpg"), (512, 512))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width = stream.height = 512
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            turn = cv2.getRotationMatrix2D((256 + 8 * np.sin(i / 20), 256), 6 * np.sin(i / 15), 1.0)
            frame = cv2.warpAffine(face, turn, (512, 512), borderMode=cv2.BORDER_REPLICATE)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def bench_capture(path: Path, mouth_track: Path | None, talking: bool = True, animators: tuple[str, ...] = ()) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        take = capture_video(path, progress=False)
        seconds = time.perf_counter() - start
    frames = len(take.frame_times)
    line = f"  {path.name:26s} {frames:5d} frames  {frames / seconds:6.1f} fps"
    jaw = take.clip.curve("JawOpen")
    if talking and len(jaw) == frames:  # clip at the video's own rate: frame-by-frame comparisons hold
        line += f"  r(JawOpen, own lip gap) {np.corrcoef(jaw, take.mouth_opening)[0, 1]:.3f}"
        track_file = mouth_track / f"mt_{path.name}.npy" if mouth_track else None
        if track_file and track_file.is_file():
            other = np.load(track_file)
            ok = np.isfinite(other)
            lag0 = np.corrcoef(jaw[ok], other[ok])[0, 1]
            lags = {lag: _lagged_r(jaw, other, lag) for lag in range(-5, 6)}
            best = max(lags, key=lags.get)
            line += f"  r(JawOpen, mouth_track) {lag0:.3f} (best {lags[best]:.3f} at lag {best:+d})"
    print(line)
    if take.audio is not None:
        for name in animators:
            print(f"    lip-sync {name:10s} {_animator_r(name, take):s}")


def _animator_r(name: str, take) -> str:  # a Capture
    from facecast.animators import get_animator
    from facecast.audio import MODEL_RATE, resample
    from facecast.audio import Audio as AudioClip
    from facecast.controls import Controls

    clip = take.clip
    speech = AudioClip(resample(take.audio.samples, take.audio.sample_rate, MODEL_RATE), MODEL_RATE, take.audio.sha256)
    predicted = get_animator(name).animate(speech, Controls(), clip.fps).curve("JawOpen")
    captured = clip.curve("JawOpen")
    n = min(len(predicted), len(captured))
    lags = {lag: _lagged_r(predicted[:n], captured[:n], lag) for lag in range(-5, 6)}
    best = max(lags, key=lags.get)
    return f"r {lags[0]:.3f} (best {lags[best]:.3f} at lag {best:+d})"


def _lagged_r(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    if lag > 0:
        a, b = a[lag:], b[:-lag]
    elif lag < 0:
        a, b = a[:lag], b[-lag:]
    ok = np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=Path, default=ROOT.parent / "shared" / "data" / "video")
    parser.add_argument("--portraits", type=Path, default=ROOT.parent / "shared" / "data" / "portraits")
    parser.add_argument("--mouth-track", type=Path, help="folder of mt_<video>.npy from mouth_track.py")
    parser.add_argument("--animators", nargs="*", default=[], help="animators to score for lip sync against capture")
    args = parser.parse_args()
    portraits = [ROOT / "assets" / name for name in ("mona_lisa.jpg", "drawing.jpg", "drawing_man.jpg")]
    portraits += sorted(args.portraits.glob("*.jpg")) if args.portraits.is_dir() else []
    bench_fitting(portraits)
    print("capture (decode + track + solve):")
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "synthetic_512.mp4"
        synthetic_video(synthetic)
        bench_capture(synthetic, None, talking=False)
    for video in sorted(args.videos.glob("*.mp4")) if args.videos.is_dir() else []:
        bench_capture(video, args.mouth_track, animators=tuple(args.animators))


if __name__ == "__main__":
    main()
