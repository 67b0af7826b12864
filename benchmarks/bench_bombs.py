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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import soundfile as sf

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


def outcome(result: object) -> str:
    if isinstance(result, grpc.RpcError):
        return f"{result.code().name}: {result.details()[:70]}"
    return "OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    daemon = Daemon()
    channel = grpc.insecure_channel(daemon.address, options=OPTIONS)
    stub = facecast_pb2_grpc.FacecastStub(channel)
    portrait = (ROOT / "assets" / "portrait.jpg").read_bytes()
    avatar_id = stub.CreateAvatar(pb.CreateAvatarRequest(image=portrait), timeout=60).avatar_id
    speech = (ROOT / "assets" / "speech_en.wav").read_bytes()

    def animate(audio: bytes, **fields: object):  # noqa: ANN202
        return lambda: list(stub.Animate(pb.AnimateRequest(audio=pb.AudioInput(encoded=audio), animator="energy",
                                                           **fields), timeout=300))

    def avatar(**fields: object):  # noqa: ANN202
        return lambda: stub.CreateAvatar(pb.CreateAvatarRequest(**fields), timeout=120)

    big_png = png_bomb(14_000, 14_000)
    largest_png = png_bomb(7_750, 5_160)  # 39.99 MP, just under the limit (black: no face is found)
    cases = {
        "FLAC bomb, 1 h at 48 kHz, honest header (0.5 MB)": animate(flac_bomb(3600)),
        "FLAC bomb, 1 h at 48 kHz, length hidden (0.5 MB)": animate(flac_bomb(3600, hide_length=True)),
        "largest audio accepted: 600 s speech FLAC at 48 kHz": animate(longest_speech_flac(600)),
        "PNG bomb 14000x14000 (0.6 MB)": avatar(image=big_png),
        "PNG bomb 14000x14000 with face_box": avatar(image=big_png, face_box=pb.FaceBox(x=10, y=10, width=500,
                                                                                          height=500)),
        "largest image accepted: 7750x5160 PNG": avatar(image=largest_png),
        "largest image accepted, with face_box": avatar(image=largest_png, face_box=pb.FaceBox(
            x=10, y=10, width=500, height=500)),
        ".fcavatar holding the 14000x14000 PNG": avatar(avatar=fcavatar(big_png, (14_000, 14_000))),
        ".fcavatar recording 512x512, holding 14000x14000": avatar(avatar=fcavatar(big_png, (512, 512))),
        "frames_per_message 2^31-1, RGBA 2048 textures": animate(speech, frames_per_message=2**31 - 1,
                                                                 texture=pb.TextureOptions(
                                                                     avatar_id=avatar_id, encoding=pb.RGBA,
                                                                     size=2048)),
        "RGBA 2048 textures, largest batch (8 frames), 8 s clip": animate(speech, texture=pb.TextureOptions(
            avatar_id=avatar_id, encoding=pb.RGBA, size=2048)),
    }
    rows = []
    try:
        for name, call in cases.items():
            grown, result = [], None
            for _ in range(args.repeat):
                mb, result = peak_rss_growth_mb(daemon.process.pid, call)
                grown.append(mb)
            rows.append((name, outcome(result), grown))
            print(f"{name}: {outcome(result)}: +{statistics.median(grown):.0f} MB", file=sys.stderr, flush=True)
        channel.close()
    finally:
        baseline = Path(f"/proc/{daemon.process.pid}/status").read_text()
        daemon.stop()
    token_file = ROOT / "out" / "bench-token"
    token_file.parent.mkdir(exist_ok=True)
    token_file.write_text("s3cret")
    guarded = Daemon("--token-file", str(token_file))
    try:
        big = pb.CreateAvatarRequest(image=bytes(60 * 2**20)).SerializeToString()

        def flood() -> str:
            def one(_: int) -> str:
                with grpc.insecure_channel(guarded.address, options=OPTIONS) as ch:
                    try:
                        ch.unary_unary("/facecast.v1.Facecast/CreateAvatar")(big, timeout=60)
                    except grpc.RpcError as e:
                        return e.code().name
                return "OK"

            with ThreadPoolExecutor(8) as pool:
                return ", ".join(sorted(set(pool.map(one, range(8)))))

        grown = []
        for _ in range(args.repeat):
            mb, result = peak_rss_growth_mb(guarded.process.pid, flood)
            grown.append(mb)
        rows.append(("8 unauthenticated 60 MiB CreateAvatar calls at once", str(result), grown))
    finally:
        guarded.stop()
        token_file.unlink()
    rss = next(line for line in baseline.splitlines() if line.startswith("VmRSS")).split()[1]
    print(f"daemon RSS after the run: {int(rss) / 1024:.0f} MB; {args.repeat} runs each\n")
    print("| request | answer | peak RSS rise, MB (median; min-max) |")
    print("|---|---|---|")
    for name, answer, grown in rows:
        print(f"| {name} | {answer} | {statistics.median(grown):.0f} ({min(grown):.0f}-{max(grown):.0f}) |")


if __name__ == "__main__":
    main()
