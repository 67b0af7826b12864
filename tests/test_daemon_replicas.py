"""Daemon replicas sharing one avatar folder, so either serves any portrait; killing one mid-run loses only its
own streams, which reconnect to the other: behind gRPC client-side round-robin, and behind Ray Serve's gRPC
ingress (deploy/ray_serve/serve.yaml, each Serve replica a facecast daemon)."""

from __future__ import annotations

import os
import re
import signal
import threading

import numpy as np
import pytest

from facecast.client import Client, ServerError, replica_lost, retrying, texture_options

from conftest import ASSETS
from daemon import Daemon
from loadgen import wait_until
from nginx import NGINX, Nginx

CHUNK = np.zeros(320, "<i2").tobytes()  # 20 ms at 16 kHz
TOKEN = "replica-test-token"


def stream_once(client: Client, chunks: int, killed: threading.Event | None = None) -> int:
    """One stream of ``chunks`` 20 ms chunks (waiting for ``killed`` halfway); its frame count, or ServerError."""
    live = client.stream(sample_rate=16_000, fps=30, animator="energy")
    for i in range(chunks):
        if killed is not None and i == chunks // 2:
            killed.wait(30)
        live.send(CHUNK)
    live.end()
    return len(list(live.frames()))


def run_stream(client: Client, chunks: int, killed: threading.Event | None = None) -> str | ServerError:
    """"ok" when a stream got all its frames, else the error (or the wrong count)."""
    try:
        frames = stream_once(client, chunks, killed)
    except ServerError as e:
        return e
    return "ok" if frames == round(chunks * 0.02 * 30) else f"{frames} frames"


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
            outcomes: list[str | ServerError] = []
            threads = [threading.Thread(target=lambda: outcomes.append(run_stream(client, 50, killed)))
                       for _ in range(6)]
            for t in threads:
                t.start()
            assert wait_until(lambda: a.alive() and _sessions(a.address) >= 1 and _sessions(b.address) >= 1, 20)
            a.process.kill()
            a.process.wait(10)
            killed.set()
            for t in threads:
                t.join(60)
            lost = [o for o in outcomes if o != "ok"]
            assert 0 < len(lost) < 6, outcomes  # only the killed replica's streams
            assert {getattr(e, "code", e) for e in lost} == {"UNAVAILABLE"}, outcomes
            reconnected = [run_stream(client, 25) for _ in lost]  # round-robin now reaches only b
            assert reconnected == ["ok"] * len(lost)
    finally:
        for d in replicas:
            d.stop()


def _sessions(address: str | int, token: str | None = None) -> int:
    """Live sessions of one daemon (given by address, or by its loopback port)."""
    with Client(address if isinstance(address, str) else f"127.0.0.1:{address}", timeout=10, token=token) as client:
        return client.info()["active_sessions"]


@pytest.mark.slow
@pytest.mark.parametrize("haproxy", [False, True], ids=["serve-proxy", "haproxy"])
def test_ray_serve_ingress_serves_every_call_and_a_killed_replica_loses_only_its_own_streams(tmp_path, haproxy):
    """deploy/ray_serve/serve.yaml on a real Ray Serve (2 replicas, each a facecast daemon, Serve's gRPC proxy in
    front): unary calls, Animate with textures and bidirectional Streams all go through the one ingress port,
    the relayed token is checked; a SIGKILLed replica ends only the streams it held, which `retrying` reopens
    (Serve's proxy reports them INTERNAL "The actor died unexpectedly ...", its HAProxy ingress resets them:
    CANCELLED, which the client no longer mistakes for a stream that ended)."""
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed (pip install 'facecast[ray]')")
    from rayserve import RayServe, listening_ports

    (tmp_path / "token").write_text(TOKEN + "\n")
    ray_serve = RayServe(tmp_path / "avatars", haproxy=haproxy, token_file=str(tmp_path / "token"))
    try:
        with Client(ray_serve.address, timeout=60) as anonymous:
            with pytest.raises(ServerError) as refused:
                anonymous.info()
            assert refused.value.code == "UNAUTHENTICATED"
            assert anonymous.health() == "SERVING"  # health needs no token, as on a daemon
        with Client(ray_serve.address, timeout=60, max_message_bytes=2**28) as big:
            with pytest.raises(ServerError) as too_big:  # Serve's proxy would read 2 GiB unless told otherwise
                big.animate(bytes(65 * 2**20))
            refusal = too_big.value  # by the proxy itself: a replica would say "Sent message larger ..."
            assert refusal.code == "RESOURCE_EXHAUSTED" and "Received message larger" in str(refusal), refusal
        replicas = {pid: _facecast_port(listening_ports(pid)) for pid in ray_serve.replica_pids()}
        assert len(replicas) == 2 and None not in replicas.values(), replicas

        with Client(ray_serve.address, timeout=60, token=TOKEN) as client:
            served_through_one_address_and_a_killed_replica_loses_only_its_streams(client, replicas, TOKEN)
    finally:
        ray_serve.stop()
    assert not ray_serve.replica_pids()


def served_through_one_address_and_a_killed_replica_loses_only_its_streams(
        client: Client, replicas: dict[int, int], token: str | None = None) -> None:
    """Through ``client``'s one address (a proxy in front of ``replicas``, pid -> its daemon's loopback port): a
    portrait made by one replica renders on whichever the proxy picks; bad input gets its status; streams opened
    until both replicas hold some; one replica SIGKILLed: exactly its streams fail, each with an error
    :func:`replica_lost` accepts, and :func:`retrying` serves them again, and a textured clip too."""
    sessions = lambda port: _sessions(port, token)
    textured = texture_options(client.create_avatar(ASSETS / "mona_lisa.jpg").avatar_id, "jpeg", 128)
    for _ in range(2):  # the proxy picks the replica; the avatar is in the folder both share
        kinds = [r.WhichOneof("kind") for r in client.animate_responses(
            ASSETS / "speech_en.wav", animator="energy", texture=textured)]
        assert "texture" in kinds and kinds[-1] == "status"
    with pytest.raises(ServerError) as bad:
        client.delete_avatar("no-such-avatar")
    assert bad.value.code == "INVALID_ARGUMENT" and "unknown avatar id" in str(bad.value)

    killed = threading.Event()
    outcomes: list[str | ServerError] = []
    threads: list[threading.Thread] = []
    # open streams one at a time until both replicas hold some
    while len(threads) < 8 and not all(sessions(port) >= 1 for port in replicas.values()):
        threads.append(threading.Thread(target=lambda: outcomes.append(run_stream(client, 50, killed))))
        threads[-1].start()
        assert wait_until(lambda: sum(sessions(p) for p in replicas.values()) >= len(threads), 20)
    victim, victim_port = next(iter(replicas.items()))
    held = sessions(victim_port)
    assert 1 <= held < len(threads)
    os.kill(victim, signal.SIGKILL)
    killed.set()
    for t in threads:
        t.join(60)
    lost = [o for o in outcomes if o != "ok"]
    assert len(outcomes) == len(threads) and len(lost) == held, outcomes  # the victim's streams only
    assert all(isinstance(e, ServerError) and replica_lost(e) for e in lost), outcomes
    assert [retrying(lambda: stream_once(client, 25)) for _ in lost] == [15] * len(lost)
    kinds = [r.WhichOneof("kind") for r in retrying(lambda: list(client.animate_responses(
        ASSETS / "speech_en.wav", animator="energy", texture=textured)))]
    assert "texture" in kinds


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/install_system_deps.sh installs it)")
def test_nginx_balances_every_call_over_two_replicas_and_a_killed_replica_loses_only_its_own_streams(tmp_path):
    """deploy/nginx/facecast.conf (grpc_pass, HTTP/2 both ways) in front of two daemons sharing --avatar-dir."""
    replicas = [Daemon("--avatar-dir", str(tmp_path)) for _ in range(2)]
    proxy = None
    try:
        proxy = Nginx([d.port for d in replicas])
        with Client(proxy.address, timeout=60) as client:
            assert client.health() == "SERVING"
            served_through_one_address_and_a_killed_replica_loses_only_its_streams(
                client, {d.process.pid: d.port for d in replicas})
    finally:
        if proxy:
            proxy.stop()
        for d in replicas:
            d.stop()


def _facecast_port(ports: list[int]) -> int | None:
    """Which of a replica's loopback ports is its facecast daemon (the others are Ray's own)."""
    for port in ports:
        try:
            _sessions(port, TOKEN)
            return port
        except ServerError:
            continue
    return None


def test_ray_replica_settings_refuse_what_belongs_to_the_proxy_and_read_the_token_from_a_file(tmp_path):
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed (pip install 'facecast[ray]')")
    from facecast.errors import ConfigError
    from facecast.server.ray_app import build_app, replica_config

    (tmp_path / "token").write_text("t0ken\n")
    config = replica_config({"avatar_dir": str(tmp_path), "token_file": str(tmp_path / "token"), "clip_workers": 1})
    assert (config.host, config.port, config.token, config.clip_workers) == ("127.0.0.1", 0, "t0ken", 1)
    for wrong, message in (({"port": 9000}, "port: set on Serve's gRPC proxy"),
                           ({"max_sesions": 8}, "unknown facecast setting(s) for the Ray replicas: max_sesions"),
                           ({"token": "visible"}, "token: give token_file"),
                           ({"token_file": str(tmp_path / "missing")}, "cannot read --token-file")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            build_app(wrong)
