"""Portrait rendering speed: frames per second from motion, and with H.264 + AAC encoding to an mp4.

    .venv/bin/python benchmarks/bench_render.py [--size 512] [--seconds 10] [--portrait assets/mona_lisa.jpg]

The motion is the energy animator on assets/speech_en.wav (looped to --seconds), so mouth, blinks, gaze and head
sway all move, plus a head translation (the energy animator writes none) of ±1.5 cm sideways and ±1 cm up and down,
so the renderers that translate do. Prints per-avatar setup time, render fps (target >= 60 at 512x512) and CPU time
per frame, encode fps (target >= 40) and the ratio to the targets. One process, the machine's default thread
settings. ``--compare`` also times, in the same run and alternating (so a loaded machine slows all alike), the
renderer before the surface head and
smile shading ("before": ``Renderer(head="flat", cheeks="plain", lips="rig")``, also with H.264), the first
renderer ("first": painted mouth and lids as well) and the default without head translation ("still":
``Renderer(translate=False)``); those three keep the head in place. With ``--compare`` the mp4 path is also
timed as it was before the fourth stop (``--h264-before``, default: libx264 ``medium`` at crf 23, encoding in
the rendering thread) and with the new preset but no encoder thread, alternating with the default encoding.
``--h264-preset``/``--h264-crf``/``--no-overlap`` change the default encoding's settings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from facecast.animators import get_animator
from facecast.audio import Audio, load_audio
from facecast.controls import Controls
from facecast.face import Avatar, load_image
from facecast.motion import MotionClip
from facecast.render import Renderer, write_video
from facecast.render.video import DEFAULT_ENCODING, LIBX264_DEFAULTS, Encoding

ROOT = Path(__file__).resolve().parents[1]
RENDER_TARGET_FPS, ENCODE_TARGET_FPS = 60.0, 40.0


def speech_clip(seconds: float) -> tuple[MotionClip, Audio]:
    audio = load_audio(ROOT / "assets" / "speech_en.wav")
    repeats = int(np.ceil(seconds / audio.duration))
    audio = Audio(np.tile(audio.samples, repeats)[: int(seconds * audio.sample_rate)], audio.sample_rate)
    clip = get_animator("energy").animate(audio, Controls(head_motion=1.0).validated(), 30)
    t = np.arange(clip.num_frames) / clip.fps
    clip.head_translation = np.stack([0.015 * np.sin(2 * np.pi * 0.3 * t), 0.01 * np.sin(2 * np.pi * 0.45 * t + 1.0),
                                      np.zeros_like(t)], axis=1).astype(np.float32)
    return clip, audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--portrait", default=str(ROOT / "assets" / "mona_lisa.jpg"))
    parser.add_argument("--compare", action="store_true", help="also time the first renderer's painted paths")
    parser.add_argument("--h264-preset", default=DEFAULT_ENCODING.preset, help="libx264 preset of the mp4 path")
    parser.add_argument("--h264-crf", type=int, default=DEFAULT_ENCODING.crf, help="libx264 crf of the mp4 path")
    parser.add_argument("--no-overlap", action="store_true", help="encode in the rendering thread")
    parser.add_argument("--h264-before", default=f"{LIBX264_DEFAULTS.preset}:{LIBX264_DEFAULTS.crf}",
                        help="PRESET:CRF of the 'before' mp4 path compared (one thread)")
    args = parser.parse_args()

    clip, audio = speech_clip(args.seconds)
    avatar = Avatar.from_image(load_image(args.portrait))
    start = time.perf_counter()
    renderer = Renderer(avatar, args.size)
    setup = time.perf_counter() - start
    print(f"avatar setup (crop, triangulation, eye/mouth models): {setup * 1000:.0f} ms")

    for _ in renderer.frames(clip.values[:10], clip.head_translation[:10]):  # warm caches (rig basis, allocator)
        pass
    start, cpu = time.perf_counter(), time.process_time()
    for _ in renderer.frames(clip.values, clip.head_translation):
        pass
    render_fps = clip.num_frames / (time.perf_counter() - start)
    cpu_frame = (time.process_time() - cpu) / clip.num_frames
    print(f"CPU time per frame (this process, all its threads): {cpu_frame * 1000:.1f} ms")
    others: dict[str, Renderer] = {}
    if args.compare:
        others = {"still": Renderer(avatar, args.size, translate=False),
                  "before": Renderer(avatar, args.size, head="flat", cheeks="plain", lips="rig", translate=False),
                  "first": Renderer(avatar, args.size, mouth="painted", eyelids="painted", head="flat",
                                    cheeks="plain", lips="rig", translate=False)}
        for each in others.values():
            for _ in each.frames(clip.values[:10], clip.head_translation[:10]):
                pass
        rounds: dict[str, list[float]] = {"default": [], **{name: [] for name in others}}
        cpu_ms: dict[str, list[float]] = {name: [] for name in rounds}
        for _ in range(3):
            for name, each in (("default", renderer), *others.items()):
                start, cpu = time.perf_counter(), time.process_time()
                for _ in each.frames(clip.values, clip.head_translation):
                    pass
                rounds[name].append(clip.num_frames / (time.perf_counter() - start))
                cpu_ms[name].append((time.process_time() - cpu) / clip.num_frames * 1000)
        for name, fps in rounds.items():
            print(f"  {name}: {', '.join(f'{f:.0f}' for f in fps)} fps (3 alternating rounds); CPU "
                  f"{', '.join(f'{c:.1f}' for c in cpu_ms[name])} ms per frame")
    print(f"render {args.size}x{args.size} from motion: {render_fps:.0f} fps over {clip.num_frames} frames "
          f"({render_fps / RENDER_TARGET_FPS:.2f}x the {RENDER_TARGET_FPS:.0f} fps target, "
          f"{render_fps / clip.fps:.1f}x real time at {clip.fps} fps)")

    encoding = Encoding(args.h264_preset, args.h264_crf, not args.no_overlap)
    before_preset, _, before_crf = args.h264_before.partition(":")
    before = Encoding(before_preset, int(before_crf or LIBX264_DEFAULTS.crf), overlap=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mp4"
        encoders = [("default", renderer, encoding)]
        if others:
            encoders += [(f"default, {before.preset} crf {before.crf}, one thread (before)", renderer, before),
                         (f"default, {encoding.preset} crf {encoding.crf}, one thread", renderer,
                          Encoding(encoding.preset, encoding.crf, overlap=False)),
                         ("before renderer", others["before"], encoding)]
        encode: dict[str, list[float]] = {name: [] for name, _, _ in encoders}
        encode_cpu: dict[str, list[float]] = {name: [] for name in encode}
        sizes: dict[str, float] = {}
        for _ in range(3 if others else 1):
            for name, each, how in encoders:
                start, cpu = time.perf_counter(), time.process_time()
                write_video(path, clip, each, audio, encoding=how)
                encode[name].append(clip.num_frames / (time.perf_counter() - start))
                encode_cpu[name].append((time.process_time() - cpu) / clip.num_frames * 1000)
                sizes[name] = path.stat().st_size / 1024 / args.seconds
    encode_fps = max(encode["default"])
    print(f"render + H.264/AAC mp4 ({encoding}): {encode_fps:.0f} fps ({encode_fps / ENCODE_TARGET_FPS:.2f}x the "
          f"{ENCODE_TARGET_FPS:.0f} fps target), {sizes['default']:.0f} KiB per second of video")
    if others:
        for name, fps in encode.items():
            print(f"  {name} + H.264/AAC: {', '.join(f'{f:.0f}' for f in fps)} fps (3 alternating rounds); CPU "
                  f"{', '.join(f'{c:.1f}' for c in encode_cpu[name])} ms per frame; {sizes[name]:.0f} KiB/s")

if __name__ == "__main__":
    main()
