"""Two daemon replicas on 127.0.0.1 behind gRPC client-side round-robin: portraits live in a folder both share,
so either serves any avatar; killing one mid-run loses only its own streams, which reconnect to the other."""

from __future__ import annotations

import threading

import numpy as np

from facecast.client import Client, ServerError, texture_options

from conftest import ASSETS
from daemon import Daemon
from loadgen import wait_until

CHUNK = np.zeros(320, "<i2").tobytes()  # 20 ms at 16 kHz


def run_stream(client: Client, chunks: int, killed: threading.Event | None = None) -> str:
    """One stream of ``chunks`` 20 ms chunks; "ok" with all its frames, else the error code."""
    live = client.stream(sample_rate=16_000, fps=30, animator="energy")
    try:
        for i in range(chunks):
            if killed is not None and i == chunks // 2:
                killed.wait(30)
            live.send(CHUNK)
        live.end()
        frames = list(live.frames())
    except ServerError as e:
        return e.code
    return "ok" if len(frames) == round(chunks * 0.02 * 30) else f"{len(frames)} frames"


def test_two_replicas_share_portraits_and_a_killed_replica_loses_only_its_own_streams(tmp_path):
    replicas = [Daemon("--avatar-dir", str(tmp_path)) for _ in range(2)]
    a, b = replicas
    try:
        with Client(a.address, timeout=60) as on_a:
            avatar = on_a.create_avatar(ASSETS / "mona_lisa.jpg")
        with Client(b.address, timeout=60) as on_b:  # created on a, rendered by b
            kinds = [r.WhichOneof("kind") for r in on_b.animate_responses(
                ASSETS / "speech_en.wav", animator="energy", texture=texture_options(avatar.avatar_id, "jpeg", 128))]
        assert "texture" in kinds and kinds[-1] == "status"

        both = f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"
        with Client(both, timeout=60, load_balancing="round_robin") as client:
            for _ in range(4):
                client.info()  # connects to both replicas
            killed = threading.Event()
            outcomes: list[str] = []
            threads = [threading.Thread(target=lambda: outcomes.append(run_stream(client, 50, killed)))
                       for _ in range(6)]
            for t in threads:
                t.start()
            assert wait_until(lambda: a.alive() and _sessions(a) >= 1 and _sessions(b) >= 1, 20)
            a.process.kill()
            a.process.wait(10)
            killed.set()
            for t in threads:
                t.join(60)
            lost = [o for o in outcomes if o != "ok"]
            assert 0 < len(lost) < 6, outcomes  # only the killed replica's streams
            assert set(lost) == {"UNAVAILABLE"}, outcomes
            reconnected = [run_stream(client, 25) for _ in lost]  # round-robin now reaches only b
            assert reconnected == ["ok"] * len(lost)
    finally:
        for d in replicas:
            d.stop()


def _sessions(daemon: Daemon) -> int:
    with Client(daemon.address, timeout=10) as client:
        return client.info()["active_sessions"]
