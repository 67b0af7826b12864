"""Audio2Face-3D compatible endpoint under load: N concurrent ProcessAudioStream calls, audio paced in real time.

Starts a real ``facecast serve --a2f-compat`` and drives it with the Audio2Face-3D wire protocol (facecast's
own stubs of NVIDIA's protos; tests/test_a2f.py checks those against NVIDIA's client). Prints, per stream:
first-frame latency (first audio chunk sent -> first AnimationData received), sustained frames/s while the
audio streams, frame lateness against the moment its audio (plus the animator's lookahead) was sent, and the
time from EndOfAudio to the final Status.

    .venv/bin/python benchmarks/bench_a2f.py [--streams 10] [--seconds 10] [--chunk-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from facecast.animators import get_animator  # noqa: E402
from facecast.audio import load_audio  # noqa: E402
from facecast.proto.a2f.nvidia_ace import audio_pb2  # noqa: E402
from facecast.proto.a2f.nvidia_audio2face_3d import audio2face_pb2_grpc  # noqa: E402
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f  # noqa: E402

from daemon import Daemon  # noqa: E402

RATE = 16000
FPS = 30


def speech_pcm16(seconds: float) -> bytes:
    """Real speech (assets/speech_en.wav, repeated) as 16 kHz PCM16."""
    samples = load_audio(ROOT / "assets" / "speech_en.wav").samples
    samples = np.tile(samples, int(np.ceil(seconds * RATE / len(samples))))[:int(seconds * RATE)]
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


async def one_stream(address: str, pcm: bytes, chunk_ms: int, lookahead_s: float) -> dict:
    chunk_bytes = 2 * RATE * chunk_ms // 1000
    sent_at: list[float] = []  # wall time each chunk went out
    arrivals: list[tuple[float, float]] = []  # (frame time code, wall time received)
    end_sent = status_at = 0.0
    async with grpc.aio.insecure_channel(address) as channel:
        call = audio2face_pb2_grpc.A2FControllerServiceStub(channel).ProcessAudioStream()

        async def write() -> None:
            nonlocal end_sent
            await call.write(a2f.AudioWithEmotionStream(audio_stream_header=a2f.AudioWithEmotionStreamHeader(
                audio_header=audio_pb2.AudioHeader(channel_count=1, samples_per_second=RATE, bits_per_sample=16))))
            start = time.perf_counter()
            for k, offset in enumerate(range(0, len(pcm), chunk_bytes)):
                await asyncio.sleep(max(0.0, start + k * chunk_ms / 1000 - time.perf_counter()))
                sent_at.append(time.perf_counter())
                await call.write(a2f.AudioWithEmotionStream(
                    audio_with_emotion=a2f.AudioWithEmotion(audio_buffer=pcm[offset:offset + chunk_bytes])))
            end_sent = time.perf_counter()
            await call.write(a2f.AudioWithEmotionStream(end_of_audio=a2f.AudioWithEmotionStream.EndOfAudio()))
            await call.done_writing()

        writer = asyncio.create_task(write())
        async for message in call:
            now = time.perf_counter()
            if message.HasField("animation_data"):
                arrivals += [(w.time_code, now) for w in message.animation_data.skel_animation.blend_shape_weights]
            elif message.HasField("status"):
                status_at = now
        await writer
    first_sent = sent_at[0]
    streaming = [(t, at) for t, at in arrivals if at <= end_sent]
    # A frame is due once the chunk holding the audio it needs (its time plus the lookahead) has been sent.
    needed = [min(len(sent_at) - 1, max(0, int(np.ceil((t + lookahead_s) * 1000 / chunk_ms - 1e-9)) - 1))
              for t, _ in arrivals]
    lateness = np.array([at - sent_at[k] for (_, at), k in zip(arrivals, needed)])
    span = streaming[-1][1] - streaming[0][1] if len(streaming) > 1 else float("nan")
    return {"first_frame_ms": (arrivals[0][1] - first_sent) * 1000, "frames": len(arrivals),
            "sustained_fps": (len(streaming) - 1) / span, "lateness_ms": lateness * 1000,
            "end_to_status_ms": (status_at - end_sent) * 1000}


async def run(address: str, streams: int, seconds: float, chunk_ms: int) -> list[dict]:
    pcm = speech_pcm16(seconds)
    lookahead = get_animator().lookahead_ms / 1000
    return await asyncio.gather(*(one_stream(address, pcm, chunk_ms, lookahead) for _ in range(streams)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams (the NIM sample config's 10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per stream")
    parser.add_argument("--chunk-ms", type=int, default=100, help="audio per message, sent in real time")
    args = parser.parse_args()
    daemon = Daemon("--a2f-compat", "--a2f-port", "0")
    try:
        a2f_port = int(daemon.ready_line.split("a2f-compat on ")[1].split(":")[-1].rstrip(")\n "))
        results = asyncio.run(run(f"127.0.0.1:{a2f_port}", args.streams, args.seconds, args.chunk_ms))
    finally:
        daemon.stop()
    first = np.array([r["first_frame_ms"] for r in results])
    fps = np.array([r["sustained_fps"] for r in results])
    late = np.concatenate([r["lateness_ms"] for r in results])
    tail = np.array([r["end_to_status_ms"] for r in results])
    print(f"{args.streams} concurrent a2f-compat streams, {args.seconds:g} s of speech each, {args.chunk_ms} ms "
          f"chunks in real time, energy animator, {FPS} fps")
    print(f"first-frame latency: p50 {np.median(first):.0f} ms, max {first.max():.0f} ms")
    print(f"sustained frames/s per stream: min {fps.min():.1f}, median {np.median(fps):.1f} (audio rate: {FPS})")
    print(f"frame lateness vs audio sent + lookahead: p50 {np.median(late):.1f} ms, "
          f"p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms")
    print(f"frames per stream: {sorted({r['frames'] for r in results})}; EndOfAudio -> final Status: "
          f"p50 {np.median(tail):.0f} ms, max {tail.max():.0f} ms")


if __name__ == "__main__":
    main()
