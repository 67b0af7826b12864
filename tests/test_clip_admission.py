"""Whole clips (Animate) are admitted by what they measurably cost on this daemon: a clip that would wait for a
worker past its own deadline (or ``--max-clip-wait``) is refused at once, RESOURCE_EXHAUSTED with the reason,
instead of waiting and failing late."""

from __future__ import annotations

import re
import time
import urllib.request

import grpc
import numpy as np
from terminal import run_in_terminal

from facecast.audio import load_audio
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.server.clipcost import ClipCost, declared_seconds

from conftest import ASSETS
from daemon import Daemon
from loadgen import wait_until


def clip_request(seconds: int, animator: str) -> pb.AnimateRequest:
    audio = load_audio(ASSETS / "speech_en.wav")
    samples = np.tile(audio.samples, int(np.ceil(seconds / audio.duration)))[: seconds * 16_000]
    pcm = (samples * 32767).astype("<i2").tobytes()
    return pb.AnimateRequest(audio=pb.AudioInput(pcm=pb.Pcm(data=pcm, sample_rate=16_000)), animator=animator)


def workers_busy(daemon: Daemon) -> float:
    with urllib.request.urlopen(daemon.metrics_url, timeout=10) as response:
        text = response.read().decode()
    return float(re.search(r"^facecast_clip_workers_busy (\S+)$", text, re.MULTILINE).group(1))


def test_the_wait_of_a_new_clip_is_the_measured_work_ahead_shared_by_the_workers():
    cost = ClipCost(workers=2)
    with cost.running("phonetic", 4.0), cost.running("phonetic", None) as clip:
        clip.seconds = 8.0  # an encoded file, once decoded
        assert cost.expected_wait() == 0.0  # nothing measured yet: an unknown animator counts as free
    assert cost.lengths["phonetic"] > 4.0 and 0 <= cost.rates["phonetic"] < 1
    cost.rates.update(phonetic=0.1, energy=0.01)  # worker seconds per second of audio
    cost.lengths.update(phonetic=50.0, energy=50.0)
    assert cost.expected_wait() == 0.0  # a worker is free
    with cost.running("phonetic", 100.0):  # costs 10 s
        assert cost.expected_wait() == 0.0  # still one free
        with cost.running("energy", 50.0), cost.waiting("phonetic", None), cost.waiting("energy", 100.0):
            now = time.monotonic()
            # running: 10 + 0.5 s left (nearly); waiting: 0.1 * 50 (the mean length) + 0.01 * 100; over 2 workers
            assert 8.0 < cost.expected_wait(now) <= 8.25
            # 5 s on: the running phonetic clip has 5 s left, the energy one none; the waiting ones all theirs
            assert 5.25 < cost.expected_wait(now + 5) <= 5.5
    assert cost.expected_wait() == 0.0
    assert declared_seconds(pb.AudioInput(pcm=pb.Pcm(data=bytes(64_000), sample_rate=16_000))) == 2.0
    assert declared_seconds(pb.AudioInput(encoded=b"RIFF....WAVE")) is None


def test_a_clip_that_would_wait_past_its_deadline_is_refused_at_once_with_the_measured_reason():
    daemon = Daemon("--clip-workers", "1", "--metrics-port", "0")
    try:
        with grpc.insecure_channel(daemon.address) as channel:
            stub = facecast_pb2_grpc.FacecastStub(channel)
            started = time.monotonic()
            measured = stub.Animate(clip_request(16, "phonetic"), timeout=120)
            assert list(measured)[-1].status.code == pb.Status.OK  # the daemon measures: 16 s of audio cost T
            took = time.monotonic() - started
            running = stub.Animate(clip_request(600, "phonetic"), timeout=300)  # the only worker, for about 37 T
            assert wait_until(lambda: workers_busy(daemon) == 1, 30)
            try:
                late = stub.Animate(clip_request(4, "energy"), timeout=max(1.0, took))
                try:
                    list(late)
                    raise AssertionError("a clip that cannot start before its deadline was admitted")
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (e.code(), e.details())
                    assert "measured" in e.details() and "past the call's deadline" in e.details(), e.details()
                running.cancel()
                assert wait_until(lambda: workers_busy(daemon) == 0, 30)  # the worker is free: the same clip is served
                assert list(stub.Animate(clip_request(4, "energy"), timeout=120))[-1].status.code == pb.Status.OK
            finally:
                running.cancel()
    finally:
        daemon.stop()


def test_a_client_that_stops_reading_an_animate_frees_its_worker_for_the_next_clip():
    daemon = Daemon("--clip-workers", "1", "--idle-timeout", "2", "--metrics-port", "0")  # stalls cut after 3 s
    try:
        with grpc.insecure_channel(daemon.address) as channel:
            stub = facecast_pb2_grpc.FacecastStub(channel)
            request = clip_request(600, "energy")
            request.echo_audio = True  # 19 MB of responses: far more than flow control lets wait unread
            stalled = stub.Animate(request, timeout=300)
            assert next(stalled).WhichOneof("kind") == "header"  # then never reads again
            try:
                assert wait_until(lambda: workers_busy(daemon) == 0, 30), "the unread clip still holds its worker"
                served = list(stub.Animate(clip_request(4, "energy"), timeout=60))
                assert served[-1].status.code == pb.Status.OK
                with urllib.request.urlopen(daemon.metrics_url, timeout=10) as response:
                    assert 'facecast_errors_total{code="CANCELLED",method="Animate"} 1' in response.read().decode()
            finally:
                stalled.cancel()
    finally:
        daemon.stop()


def test_serve_names_a_max_clip_wait_that_is_not_positive_in_one_line():
    code, output = run_in_terminal("serve", "--port", "0", "--max-clip-wait", "0")
    errors = [line for line in output.splitlines() if "error:" in line]
    assert code not in (0, None) and "Traceback" not in output, output
    assert errors == ["facecast: error: --max-clip-wait must be more than 0 seconds, not 0"], output
    code, output = run_in_terminal("serve", "--help")
    assert code == 0 and "--max-clip-wait SECONDS" in output, output
