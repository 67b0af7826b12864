"""facecast.aio.AsyncClient against a real daemon on 127.0.0.1: the threaded client's calls, results and errors
from one event loop, with many live streams on one thread."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from facecast.aio import AsyncClient, AsyncLiveStream
from facecast.audio import load_audio
from facecast.client import Client, ServerError, stream_file_chunks
from facecast.motion import CHANNELS

from daemon import Daemon

SPEECH = Path(__file__).resolve().parents[1] / "assets" / "speech_en.wav"
AUDIO = load_audio(SPEECH)
FRAMES = int(AUDIO.duration * 30)


@pytest.fixture(scope="module")
def daemon():
    d = Daemon()
    yield d
    d.stop()


async def speak(live: AsyncLiveStream, paced: bool = False, emotion_at: int | None = None) -> None:
    for i, chunk in enumerate(stream_file_chunks(AUDIO.samples, AUDIO.sample_rate)):
        if i == emotion_at:
            await live.update(emotion="happy")
        await live.send(chunk)
        await asyncio.sleep(0.02 if paced else 0)
    await live.end()


async def talk(client: AsyncClient, paced: bool = False, **fields) -> tuple[AsyncLiveStream, np.ndarray]:
    async with client.stream(sample_rate=AUDIO.sample_rate, **fields) as live:
        speaking = asyncio.create_task(speak(live, paced))
        frames = [f.values for f in [f async for f in live.frames()]]
        await speaking
    return live, np.array(frames)


def test_the_asyncio_client_gives_the_threaded_clients_takes_and_streams(daemon):
    with Client(daemon.address, timeout=120) as sync:
        clip = sync.animate(SPEECH, animator="energy", seed=3, emotion="sad")
        live = sync.stream(sample_rate=AUDIO.sample_rate, animator="energy", seed=3)
        for chunk in stream_file_chunks(AUDIO.samples, AUDIO.sample_rate):
            live.send(chunk)
        live.end()
        streamed = np.array([f.values for f in live.frames()])

    async def run() -> tuple:
        async with AsyncClient(daemon.address, timeout=120) as client:
            await client.wait_ready()
            info, health = await client.info(), await client.health()
            seen: list[tuple[float, float]] = []
            take = await client.animate(SPEECH, animator="energy", seed=3, emotion="sad",
                                        progress=lambda done, total: seen.append((done, total)))
            live, frames = await talk(client, animator="energy", seed=3)
            return info, health, take, seen, live, frames

    info, health, take, seen, live, frames = asyncio.run(run())
    assert health == "SERVING" and "neural" in [a["name"] for a in info["animators"]] and info["version"]
    assert take.metadata["animator"] == "energy" and take.metadata["daemon"] == daemon.address
    assert np.array_equal(take.values, clip.values)
    assert seen and seen[-1] == (FRAMES, FRAMES)
    assert live.header.animator == "energy" and live.status.message == "done" and live.warnings == []
    assert frames.shape == streamed.shape == (FRAMES, 61) and np.array_equal(frames, streamed)


def test_controls_change_mid_stream_and_a_bad_config_is_a_clear_error(daemon):
    async def run() -> tuple[np.ndarray, np.ndarray]:
        async with AsyncClient(daemon.address, timeout=120) as client:
            plain = (await talk(client, animator="energy", seed=1))[1]
            async with client.stream(sample_rate=AUDIO.sample_rate, animator="energy", seed=1) as live:
                speaking = asyncio.create_task(speak(live, emotion_at=100))
                changed = np.array([f.values async for f in live.frames()])
                await speaking
            with pytest.raises(ServerError, match="sample rate 12345 Hz is not supported") as refused:
                async for _ in client.stream(sample_rate=12345).responses():
                    pass
            assert refused.value.code == "INVALID_ARGUMENT"
            return plain, changed

    plain, changed = asyncio.run(run())
    # 100 chunks of 20 ms = 2 s: the emotion applies from there on, not before
    before, after = int(1.8 * 30), int(2.3 * 30)
    assert np.array_equal(plain[:before], changed[:before])
    assert not np.allclose(plain[after:], changed[after:])


def test_a_missing_daemon_and_a_transcript_that_does_not_fit_are_reported_as_by_the_threaded_client(daemon):
    async def missing() -> None:
        async with AsyncClient("127.0.0.1:1", timeout=5) as client:
            with pytest.raises(ServerError, match="no facecast daemon at 127.0.0.1:1"):
                await client.info()
            with pytest.raises(ServerError, match="after 0.5 s"):
                await client.wait_ready(0.5)

    asyncio.run(missing())

    async def wrong() -> AsyncLiveStream:
        async with AsyncClient(daemon.address, timeout=120) as client:
            live = client.stream(sample_rate=AUDIO.sample_rate, animator="phonetic", text="What the speaker says.")
            for chunk in stream_file_chunks(AUDIO.samples, AUDIO.sample_rate, chunk_ms=200):
                await live.send(chunk)  # all the audio before reading: held until the daemon's header
            await live.end()
            assert len([f async for f in live.frames()]) >= FRAMES
            return live

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live = asyncio.run(wrong())
    assert live.status.message.startswith("done\nwarning: the transcript does not fit the audio")
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == live.warnings


def test_a_cancelled_stream_ends_quietly_and_frees_its_session(daemon):
    async def run() -> tuple[int, int]:
        async with AsyncClient(daemon.address, timeout=120) as client:
            live = client.stream(sample_rate=AUDIO.sample_rate, animator="energy")
            speaking = asyncio.create_task(speak(live, paced=True))
            got = 0
            async for _ in live.frames():
                got += 1
                if got == 10:
                    live.cancel()
            speaking.cancel()
            for _ in range(50):  # the daemon notices the cancellation within moments
                if (await client.info())["active_sessions"] == 0:
                    break
                await asyncio.sleep(0.1)
            return got, (await client.info())["active_sessions"]

    got, active = asyncio.run(run())
    assert 10 <= got < FRAMES and active == 0


@pytest.mark.slow
def test_many_neural_streams_run_on_one_thread_and_are_served_in_full(daemon):
    """Twelve real-time neural streams from one event loop: every one served to its last frame, on time, and
    the process gains no thread per stream (the threaded client starts three)."""
    counts: list[int] = []

    async def run() -> list[np.ndarray]:
        async with AsyncClient(daemon.address, timeout=120) as client:
            await client.info()
            before = threading.active_count()

            async def watch() -> None:
                while True:
                    counts.append(threading.active_count() - before)
                    await asyncio.sleep(0.25)

            watching = asyncio.create_task(watch())
            started = time.monotonic()
            takes = await asyncio.gather(*(talk(client, paced=True, seed=i) for i in range(12)))
            elapsed = time.monotonic() - started
            watching.cancel()
            assert elapsed < AUDIO.duration * 3, elapsed  # paced: about the audio's length, not 12 times it
            return [frames for _, frames in takes]

    takes = asyncio.run(run())
    assert all(t.shape == (FRAMES, 61) for t in takes)
    jaw, yaw = CHANNELS.index("JawOpen"), CHANNELS.index("HeadYaw")
    # the same mouth whatever the seed (to float rounding: the daemon batches whichever streams are due)
    mouth_gaps = [float(np.abs(t[:, jaw] - takes[0][:, jaw]).max()) for t in takes]
    assert max(mouth_gaps) < 1e-3, mouth_gaps
    assert not np.array_equal(takes[0][:, yaw], takes[1][:, yaw])  # different heads
    assert max(counts) <= 2, counts
