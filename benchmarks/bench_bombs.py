"""Peak memory a real daemon spends on each worst-case request: decompression bombs (refused) and the largest
requests it accepts. For each, the kernel's high-water mark of the daemon's RSS is reset (/proc/PID/clear_refs),
the request is made, and the rise of the peak above the RSS before it is reported. Prints a Markdown table
(docs/RELIABILITY.md).

    .venv/bin/python benchmarks/bench_bombs.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import soundfile as sf
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from facecast.proto import facecast_pb2 as pb  # noqa: E402
from facecast.proto import facecast_pb2_grpc  # noqa: E402

from daemon import Daemon  # noqa: E402
from helpers.hostile import fcavatar, flac_bomb, peak_rss_growth_mb, png_bomb  # noqa: E402

OPTIONS = [("grpc.max_send_message_length", 2**27), ("grpc.max_receive_message_length", 2**27)]


def longest_speech_flac(seconds: float, rate: int = 48_000) -> bytes:
    speech, native = sf.read(ROOT / "assets" / "speech_en.wav", dtype="float32")
    import soxr

    speech = soxr.resample(speech, native, rate)
    buf = io.BytesIO()
    sf.write(buf, np.tile(speech, int(np.ceil(seconds * rate / len(speech))))[:int(seconds * rate)], rate,
             format="FLAC")
    return buf.getvalue()


def speech_clip(seconds: float) -> bytes:
    speech, rate = sf.read(ROOT / "assets" / "speech_en.wav", dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, speech[:int(seconds * rate)], rate, format="WAV")
    return buf.getvalue()


def outcome(result: object) -> str:
    if isinstance(result, grpc.RpcError):
        return f"{result.code().name}: {result.details()[:70]}"
    return result if isinstance(result, str) else "OK"


class Target:
    """A fresh daemon (with one avatar) per measurement, so memory a previous request left to the allocator
    does not hide what this one costs."""

    def __init__(self, *args: str, token: str | None = None) -> None:
        self.daemon = Daemon(*args)
        self.channel = grpc.insecure_channel(self.daemon.address, options=OPTIONS)
        self.stub = facecast_pb2_grpc.FacecastStub(self.channel)
        portrait = (ROOT / "assets" / "mona_lisa.jpg").read_bytes()
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.avatar_id = self.stub.CreateAvatar(pb.CreateAvatarRequest(image=portrait), metadata=metadata,
                                                timeout=60).avatar_id

    def close(self) -> None:
        self.channel.close()
        self.daemon.stop()


def cases() -> dict[str, Callable[[Target], Callable[[], object]]]:
    speech = (ROOT / "assets" / "speech_en.wav").read_bytes()

    def animate(audio: bytes, texture: int = 0, **fields: object) -> Callable[[Target], Callable[[], object]]:
        def bind(t: Target) -> Callable[[], object]:
            options = pb.TextureOptions(avatar_id=t.avatar_id, encoding=pb.RGBA, size=texture) if texture else None
            return lambda: list(t.stub.Animate(pb.AnimateRequest(
                audio=pb.AudioInput(encoded=audio), animator="energy", texture=options, **fields), timeout=300))
        return bind

    def avatar(**fields: object) -> Callable[[Target], Callable[[], object]]:
        return lambda t: lambda: t.stub.CreateAvatar(pb.CreateAvatarRequest(**fields), timeout=120)

    def unauthenticated(t: Target) -> Callable[[], object]:
        big = pb.CreateAvatarRequest(image=bytes(60 * 2**20)).SerializeToString()

        def one(_: int) -> str:
            with grpc.insecure_channel(t.daemon.address, options=OPTIONS) as ch:
                try:
                    ch.unary_unary("/facecast.v1.Facecast/CreateAvatar")(big, timeout=60)
                except grpc.RpcError as e:
                    return e.code().name
            return "OK"

        def flood() -> str:
            with ThreadPoolExecutor(8) as pool:
                return ", ".join(sorted(set(pool.map(one, range(8)))))
        return flood

    big_png = png_bomb(14_000, 14_000)
    largest_png = png_bomb(4096, 4096)  # the largest PNG accepted (black: no face is found)
    buf = io.BytesIO()
    Image.new("RGB", (7_750, 5_160)).save(buf, "JPEG")  # 39.99 MP, just under the JPEG limit
    largest_jpeg = buf.getvalue()
    two_seconds = speech_clip(2.0)
    box = pb.FaceBox(x=10, y=10, width=500, height=500)
    return {
        "FLAC bomb, 1 h at 48 kHz, honest header (0.5 MB)": animate(flac_bomb(3600)),
        "FLAC bomb, 1 h at 48 kHz, length hidden (0.5 MB)": animate(flac_bomb(3600, hide_length=True)),
        "largest audio accepted: 600 s speech FLAC at 48 kHz": animate(longest_speech_flac(600)),
        "PNG bomb 14000x14000 (0.6 MB)": avatar(image=big_png),
        "PNG bomb 14000x14000 with face_box": avatar(image=big_png, face_box=box),
        "largest PNG accepted: 4096x4096": avatar(image=largest_png),
        "largest PNG accepted, with face_box": avatar(image=largest_png, face_box=box),
        "largest JPEG accepted: 7750x5160": avatar(image=largest_jpeg),
        "largest JPEG accepted, with face_box": avatar(image=largest_jpeg, face_box=box),
        ".fcavatar holding the 14000x14000 PNG": avatar(avatar=fcavatar(big_png, (14_000, 14_000))),
        ".fcavatar recording 512x512, holding 14000x14000": avatar(avatar=fcavatar(big_png, (512, 512))),
        "frames_per_message 2^31-1, RGBA 2048 textures": animate(speech, 2048, frames_per_message=2**31 - 1),
        "RGBA 2048 textures, largest batch (8 frames), 2 s clip": animate(two_seconds, 2048),
        "8 unauthenticated 60 MiB CreateAvatar calls at once (--token-file)": unauthenticated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    token_file = ROOT / "out" / "bench-token"
    token_file.parent.mkdir(exist_ok=True)
    token_file.write_text("s3cret")
    rows, baselines = [], []
    try:
        for name, bind in cases().items():
            grown, result = [], None
            for _ in range(args.repeat):
                guarded = "unauthenticated" in name
                target = Target(*(["--token-file", str(token_file)] if guarded else []),
                                token="s3cret" if guarded else None)
                try:
                    baselines.append(int(Path(f"/proc/{target.daemon.process.pid}/status").read_text().split(
                        "VmRSS:")[1].split()[0]) / 1024)
                    mb, result = peak_rss_growth_mb(target.daemon.process.pid, bind(target))
                    grown.append(mb)
                finally:
                    target.close()
            rows.append((name, outcome(result), grown))
            print(f"{name}: {outcome(result)}: +{statistics.median(grown):.0f} MB", file=sys.stderr, flush=True)
    finally:
        token_file.unlink()
    print(f"fresh daemon per run, RSS before the request (one avatar held) {min(baselines):.0f}-"
          f"{max(baselines):.0f} MB; {args.repeat} runs each\n")
    print("| request | answer | peak RSS rise, MB (median; min-max) |")
    print("|---|---|---|")
    for name, answer, grown in rows:
        print(f"| {name} | {answer} | {statistics.median(grown):.0f} ({min(grown):.0f}-{max(grown):.0f}) |")


if __name__ == "__main__":
    main()
