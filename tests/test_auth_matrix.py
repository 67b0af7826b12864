"""The auth matrix on real daemons on 127.0.0.1 (issue 14): no, wrong, near-miss and right token; plaintext,
TLS and mutual TLS (certificates made now with openssl); per-client rate limits, told apart by certificate.
Every cell is one real call; docs/RELIABILITY.md shows the same table."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc

from daemon import Daemon
from helpers.certs import make_certificates

TOKEN = "right-token-0123456789"
OK, UNAUTH, UNAVAILABLE, EXHAUSTED = (grpc.StatusCode.OK, grpc.StatusCode.UNAUTHENTICATED,
                                      grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def channel(address: str, certs: Path, tls: bool, client: str | None = None, roots: str = "ca") -> grpc.Channel:
    if not tls:
        return grpc.insecure_channel(address)
    key = (certs / f"{client}.key").read_bytes() if client else None
    chain = (certs / f"{client}.pem").read_bytes() if client else None
    credentials = grpc.ssl_channel_credentials((certs / f"{roots}.pem").read_bytes(), key, chain)
    return grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", "localhost")])


def code_of(address: str, certs: Path, tls: bool, token: str | None, client: str | None = None,
            roots: str = "ca", method: str = "info") -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
    with channel(address, certs, tls, client, roots) as ch:
        try:
            if method == "health":
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
            elif method == "stream":
                list(facecast_pb2_grpc.FacecastStub(ch).Stream(iter([pb.StreamRequest(
                    config=pb.StreamConfig(sample_rate=16_000)), pb.StreamRequest(end=pb.End())]),
                    metadata=metadata, timeout=10))
            else:
                facecast_pb2_grpc.FacecastStub(ch).GetInfo(pb.GetInfoRequest(), metadata=metadata, timeout=10)
        except grpc.RpcError as e:
            return e.code()
    return OK


def tls_args(certs: Path, mutual: bool) -> list[str]:
    args = ["--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key")]
    return args + (["--tls-client-ca", str(certs / "ca.pem")] if mutual else [])


def run_matrix(certs: Path, tmp_path: Path) -> dict[tuple[str, str], grpc.StatusCode]:
    """{(daemon, client): status} for every combination the tests check."""
    (tmp_path / "token").write_text(TOKEN)
    token = ["--token-file", str(tmp_path / "token")]
    daemons = {"token": token, "TLS + token": [*token, *tls_args(certs, False)],
               "mTLS": tls_args(certs, True), "mTLS + token": [*token, *tls_args(certs, True)]}
    results = {}
    for name, args in daemons.items():
        daemon = Daemon(*args)
        try:
            tls = "TLS" in name
            cases = {"no token": (None, None), "wrong token": ("wrong", None), "near-miss token": (TOKEN[:-1], None),
                     "right token": (TOKEN, None), "right token, client cert": (TOKEN, "client-a"),
                     "no token, client cert": (None, "client-a"), "rogue client cert": (TOKEN, "rogue")}
            for case, (sent, client) in cases.items():
                results[name, case] = code_of(daemon.address, certs, tls, sent, client)
            results[name, "stream, no token"] = code_of(daemon.address, certs, tls, None, "client-a", method="stream")
            results[name, "health, nothing"] = code_of(daemon.address, certs, tls, None, "client-a",
                                                       method="health")
            if tls:
                results[name, "plaintext client"] = code_of(daemon.address, certs, False, TOKEN)
                results[name, "client not trusting the server"] = code_of(daemon.address, certs, True, TOKEN,
                                                                           "client-a", roots="rogue-ca")
        finally:
            daemon.stop()
    return results


EXPECTED = {
    ("token", "no token"): UNAUTH, ("token", "wrong token"): UNAUTH, ("token", "near-miss token"): UNAUTH,
    ("token", "right token"): OK, ("token", "stream, no token"): UNAUTH, ("token", "health, nothing"): OK,
    ("TLS + token", "no token"): UNAUTH, ("TLS + token", "wrong token"): UNAUTH,
    ("TLS + token", "near-miss token"): UNAUTH, ("TLS + token", "right token"): OK,
    ("TLS + token", "right token, client cert"): OK, ("TLS + token", "stream, no token"): UNAUTH,
    ("TLS + token", "health, nothing"): OK, ("TLS + token", "plaintext client"): UNAVAILABLE,
    ("TLS + token", "client not trusting the server"): UNAVAILABLE,
    ("mTLS", "right token"): UNAVAILABLE, ("mTLS", "no token"): UNAVAILABLE,  # no client certificate
    ("mTLS", "no token, client cert"): OK, ("mTLS", "rogue client cert"): UNAVAILABLE,
    ("mTLS", "plaintext client"): UNAVAILABLE, ("mTLS", "health, nothing"): OK,
    ("mTLS + token", "no token, client cert"): UNAUTH, ("mTLS + token", "right token, client cert"): OK,
    ("mTLS + token", "right token"): UNAVAILABLE, ("mTLS + token", "rogue client cert"): UNAVAILABLE,
    ("mTLS + token", "stream, no token"): UNAUTH,
}


@pytest.mark.slow
def test_auth_matrix(certs, tmp_path):
    results = run_matrix(certs, tmp_path)
    wrong = {cell: (results[cell], expected) for cell, expected in EXPECTED.items() if results[cell] != expected}
    assert not wrong, wrong


def test_rate_limit_is_per_client_certificate(certs):
    daemon = Daemon(*tls_args(certs, True), "--rate-limit", "0.01", "--rate-burst", "3")
    try:
        first = [code_of(daemon.address, certs, True, None, "client-a") for _ in range(5)]
        assert first == [OK, OK, OK, EXHAUSTED, EXHAUSTED], first
        assert code_of(daemon.address, certs, True, None, "client-b") == OK  # another client has its own budget
        assert code_of(daemon.address, certs, True, None, "client-a", method="stream") == EXHAUSTED
        assert code_of(daemon.address, certs, True, None, "client-a", method="health") == OK  # probes not counted
    finally:
        daemon.stop()
