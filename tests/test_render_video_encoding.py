"""The mp4 path's encoding: the encoder thread writes what encoding in the rendering thread writes, its errors come
back as themselves and leave no file, the queue between them stays bounded, and the watermark still verifies."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from test_render_video import ASSETS, SIZE, speaking_clip, tone

from facecast.background import BackgroundConsumer
from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.media import H264Writer
from facecast.render import Renderer, verify_file, write_video
from facecast.render.video import DEFAULT_ENCODING, LIBX264_DEFAULTS, Encoding

IN_RENDERING_THREAD = Encoding(DEFAULT_ENCODING.preset, DEFAULT_ENCODING.crf, overlap=False)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), SIZE)


def decoded(path: Path) -> tuple[list[tuple[Fraction, np.ndarray]], list[tuple[Fraction, np.ndarray]]]:
    """(time, RGB frame) of the video stream and (time, samples) of the audio stream, times in seconds."""
    with av.open(str(path)) as container:
        video = [(f.pts * f.time_base, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
        container.seek(0)
        sound = [(f.pts * f.time_base, f.to_ndarray()[0]) for f in container.decode(audio=0)]
    return video, sound


class WrongFrameRenderer(Renderer):
    """The real renderer, except that frame ``bad`` comes out as float: the encoder refuses it mid-file."""

    def __init__(self, avatar: Avatar, size: int, bad: int) -> None:
        super().__init__(avatar, size)
        self.bad = bad

    def frames(self, values: np.ndarray, translation: np.ndarray | None = None) -> Iterator[np.ndarray]:
        for i, frame in enumerate(super().frames(values, translation)):
            yield frame.astype(np.float32) if i == self.bad else frame


def recorder(calls: list[tuple[float, float]]) -> Callable[[float, float], None]:
    return lambda done, total: calls.append((done, total))


def encoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "facecast-h264"]


def test_encoder_thread_writes_the_frames_timestamps_and_sound_of_the_rendering_thread(
        renderer: Renderer, tmp_path: Path) -> None:
    clip, audio = speaking_clip(40), tone(40 / 30)
    seen: dict[str, list[tuple[float, float]]] = {"overlap": [], "sequential": []}
    for name, encoding in (("overlap", DEFAULT_ENCODING), ("sequential", IN_RENDERING_THREAD)):
        write_video(tmp_path / f"{name}.mp4", clip, renderer, audio, encoding=encoding, progress=recorder(seen[name]))
    (video_a, sound_a), (video_b, sound_b) = decoded(tmp_path / "overlap.mp4"), decoded(tmp_path / "sequential.mp4")
    assert [t for t, _ in video_a] == [t for t, _ in video_b] == [Fraction(i, 30) for i in range(40)]  # i / fps
    for (_, a), (_, b) in zip(video_a, video_b, strict=True):
        np.testing.assert_array_equal(a, b)  # libx264 is deterministic: the same pictures in the same order
    assert [t for t, _ in sound_a] == [t for t, _ in sound_b] and sound_a[0][0] == 0
    np.testing.assert_array_equal(np.concatenate([s for _, s in sound_a]), np.concatenate([s for _, s in sound_b]))
    assert seen["overlap"] == seen["sequential"] and len(seen["overlap"]) == 40
    assert seen["overlap"][-1] == pytest.approx((40 / 30, 40 / 30))
    assert not encoder_threads()


@pytest.mark.parametrize("encoding", [DEFAULT_ENCODING, IN_RENDERING_THREAD], ids=["overlap", "sequential"])
def test_encoder_error_midway_raises_as_before_and_leaves_no_file(tmp_path: Path, encoding: Encoding) -> None:
    broken = WrongFrameRenderer(Avatar.from_image(load_image(ASSETS / "drawing_man.jpg")), 128, bad=12)
    path = tmp_path / "talk.mp4"
    with pytest.raises(ValueError, match=r"RGB uint8 frame \[H, W, 3\], not float32 \[128, 128, 3\]"):
        write_video(path, speaking_clip(30), broken, tone(1.0), encoding=encoding)
    assert os.listdir(tmp_path) == []  # neither the target nor a temporary file
    assert not encoder_threads()


def test_render_error_midway_stops_the_encoder_thread_and_leaves_no_file(renderer: Renderer, tmp_path: Path) -> None:
    def stop_midway(done: float, total: float) -> None:
        if done > 0.3:
            raise KeyboardInterrupt  # what Ctrl-C in the CLI raises while it renders

    with pytest.raises(KeyboardInterrupt):
        write_video(tmp_path / "talk.mp4", speaking_clip(60), renderer, tone(2.0), progress=stop_midway)
    assert os.listdir(tmp_path) == []
    assert not encoder_threads()


def test_watermark_verifies_on_our_mp4_at_the_new_and_the_old_settings(tmp_path: Path) -> None:
    renderer = Renderer(Avatar.from_image(load_image(ASSETS / "drawing.jpg")), 512)
    clip = speaking_clip(20)
    scores = {}
    for name, encoding in (("new", DEFAULT_ENCODING), ("old", LIBX264_DEFAULTS)):
        write_video(tmp_path / f"{name}.mp4", clip, renderer, encoding=encoding)
        scores[name] = verify_file(tmp_path / f"{name}.mp4").score
    assert all(verify_file(tmp_path / f"{name}.mp4").marked for name in scores)
    assert scores["new"] > scores["old"] - 2  # about as strong as at libx264's defaults (measured: above it)


@pytest.mark.parametrize("encoding", [Encoding(preset="turbo"), Encoding(crf=60)], ids=["preset", "crf"])
def test_unknown_preset_or_crf_is_a_clear_error(renderer: Renderer, tmp_path: Path, encoding: Encoding) -> None:
    with pytest.raises(InvalidInput, match="libx264 takes a preset of ultrafast, .* and a crf from 0 to 51"):
        write_video(tmp_path / "talk.mp4", speaking_clip(3), renderer, encoding=encoding)
    assert os.listdir(tmp_path) == []


def test_consumer_gets_every_item_in_order_on_its_own_thread() -> None:
    got: list[tuple[int, str]] = []

    def consume(item: int) -> None:
        got.append((item, threading.current_thread().name))

    with BackgroundConsumer(consume, 3, "test-worker") as worker:
        for i in range(50):
            worker.put(i)
    assert [item for item, _ in got] == list(range(50))
    assert {name for _, name in got} == {"test-worker"}


def test_consumer_error_is_raised_again_by_the_producer_and_later_items_are_dropped() -> None:
    failure = OSError(28, "No space left on device")
    got: list[int] = []

    def consume(item: int) -> None:
        if item == 5:
            raise failure
        got.append(item)

    with pytest.raises(OSError) as raised, BackgroundConsumer(consume, 2) as worker:
        for i in range(1000):
            worker.put(i)
    assert raised.value is failure
    assert got == [0, 1, 2, 3, 4]


def test_consumer_error_after_the_last_item_is_raised_when_the_block_ends() -> None:
    def consume(item: int) -> None:
        raise RuntimeError(f"cannot take {item}")

    with pytest.raises(RuntimeError, match="cannot take 0"), BackgroundConsumer(consume, 2) as worker:
        worker.put(0)


def test_queue_holds_at_most_depth_items() -> None:
    started, release = threading.Event(), threading.Event()
    taken: list[int] = []

    def consume(item: int) -> None:
        started.set()
        release.wait(30)
        taken.append(item)

    done: list[int] = []
    with BackgroundConsumer(consume, depth=2) as worker:
        def produce() -> None:
            for i in range(10):
                worker.put(i)
                done.append(i)

        producer = threading.Thread(target=produce)
        producer.start()
        assert started.wait(30)
        producer.join(0.5)  # one item in the consumer, two queued: the fourth put blocks
        assert producer.is_alive() and len(done) == 3
        release.set()
        producer.join(30)
    assert taken == list(range(10))


def test_bad_frame_to_the_writer_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RGB uint8"), H264Writer(tmp_path / "x.mp4", 30) as video:
        video.add(np.zeros((32, 32, 4), np.uint8))  # RGBA: OpenCV would take it, PyAV refused it before
