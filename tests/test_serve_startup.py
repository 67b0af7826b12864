"""``facecast serve`` start-up under a real terminal (issue 14, defect 9 and the security defaults): every wrong
setting ends in one ``facecast: error:`` line and no traceback; the token never shows in the process list; a
daemon reachable beyond loopback refuses to start without authentication unless ``--insecure``."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest
from terminal import run_in_terminal

from facecast.client import Client

from daemon import Daemon

SERVE = [sys.executable, "-m", "facecast", "serve"]


def assert_one_line_error(code: int, output: str, *fragments: str) -> None:
    assert code not in (0, None), output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1, output
    others = [line for line in output.splitlines() if line.strip() and "error:" not in line and "WARNING" not in line
              and not line.startswith(("usage:", " "))]  # argparse's usage lines, and warnings, may come too
    assert not others, output
    for fragment in fragments:
        assert fragment in errors[0], output


def test_busy_port_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = run_in_terminal("serve", "--port", str(port))
    assert_one_line_error(code, output, f"cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("flag", ["--port", "--a2f-port", "--metrics-port"])
@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_port_outside_0_to_65535_is_refused(flag, port):
    code, output = run_in_terminal("serve", flag, port)
    assert_one_line_error(code, output, "is not a port number (0-65535)")


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_ipv6_loopback_host_serves_or_says_why():
    code, output = run_in_terminal("serve", "--host", "::1", "--port", "0",
                                   until=lambda text: "facecast serving on" in text)
    assert "Traceback" not in output, output
    if ipv6_loopback():
        assert "facecast serving on [::1]:" in output and code == 0, output
    else:
        assert_one_line_error(code, output, "cannot listen on [::1]")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    from helpers.certs import make_certificates

    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("which", ["garbage", "missing", "swapped"])
def test_bad_certificate_is_a_one_line_error(certs, tmp_path, which):
    cert, key = certs / "server.pem", certs / "server.key"
    if which == "garbage":
        cert = tmp_path / "garbage.pem"
        cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    elif which == "missing":
        cert = tmp_path / "nowhere.pem"
    else:
        cert, key = key, cert
    code, output = run_in_terminal("serve", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key))
    assert_one_line_error(code, output, "--tls-cert" if which != "missing" else "cannot read the TLS certificate")


def test_empty_token_is_refused_not_silently_dropped(tmp_path):
    code, output = run_in_terminal("serve", "--port", "0", env={**os.environ, "FACECAST_TOKEN": ""})
    assert_one_line_error(code, output, "FACECAST_TOKEN is empty")
    (tmp_path / "token").write_text("\n")
    code, output = run_in_terminal("serve", "--port", "0", "--token-file", str(tmp_path / "token"))
    assert_one_line_error(code, output, "is empty")
    code, output = run_in_terminal("serve", "--port", "0", "--token-file", str(tmp_path / "absent"))
    assert_one_line_error(code, output, "cannot read --token-file")


def test_token_from_a_file_or_the_environment_is_not_in_the_process_list(tmp_path):
    secret = "tok-" + "7" * 30
    (tmp_path / "token").write_text(secret + "\n")
    for daemon in (Daemon("--token-file", str(tmp_path / "token")), Daemon(env={"FACECAST_TOKEN": secret})):
        try:
            command_line = Path(f"/proc/{daemon.process.pid}/cmdline").read_bytes()
            assert secret.encode() not in command_line
            with Client(daemon.address, token=secret, timeout=10) as client:
                assert client.info()["version"]
        finally:
            daemon.stop()


def test_token_on_the_command_line_warns_that_it_shows():
    code, output = run_in_terminal("serve", "--port", "0", "--token", "abc",
                                   until=lambda text: "facecast serving on" in text)
    assert code == 0 and "shows the token in the process list" in output, output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_non_loopback_bind_needs_authentication_or_insecure(host):
    code, output = run_in_terminal("serve", "--host", host, "--port", "0")
    assert_one_line_error(code, output, f"refusing to listen on {host} without authentication", "--insecure")


def test_insecure_lets_a_non_loopback_bind_through_to_the_network_layer():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind itself fails, so nothing is ever exposed.
    started = time.monotonic()
    code, output = run_in_terminal("serve", "--host", "192.0.2.1", "--port", "0", "--insecure")
    assert_one_line_error(code, output, "cannot listen on 192.0.2.1:0")
    assert "without authentication (--insecure)" in output
    assert time.monotonic() - started < 60
