"""deploy/nginx/facecast.conf run by a real nginx in front of given replicas, on a free loopback port, for tests
and benchmarks (the lines marked ``# test:`` get this run's ports)."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx" / "facecast.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_for(replicas: list[int], port: int) -> str:
    """The shipped config, listening on ``port`` and passing calls to the replicas on these loopback ports."""
    text = CONFIG.read_text()
    server = re.search(r"^( *)server 127\.0\.0\.1:\d+ (.*?);.*\n", text, re.MULTILINE)
    assert server, "deploy/nginx/facecast.conf lists no replica"
    indent, options = server.group(1), server.group(2)
    servers = "".join(f"{indent}server 127.0.0.1:{p} {options};\n" for p in replicas)
    text = re.sub(r"(^ *server 127\.0\.0\.1:\d+ .*\n)+", servers, text, count=1, flags=re.MULTILINE)
    return re.sub(r"listen 127\.0\.0\.1:\d+ http2;", f"listen 127.0.0.1:{port} http2;", text)


class Nginx:
    def __init__(self, replicas: list[int], timeout: float = 20.0) -> None:
        assert NGINX, "nginx is not installed"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="fcnginx"))
        self.prefix.chmod(0o777)  # nginx's workers run as an unprivileged user when started as root
        (self.prefix / "facecast.conf").write_text(config_for(replicas, self.port))
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(self.prefix / "facecast.conf"), "-g", "daemon off;"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {self.process.stdout.read() if self.process.stdout else ''}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the calls in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)
