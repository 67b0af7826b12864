"""Start a real ``facecast serve`` on 127.0.0.1 with an ephemeral port, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

READY = re.compile(r"facecast serving on (\S+):(\d+)")
METRICS = re.compile(r"facecast metrics on (http://\S+)")


class Daemon:
    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "facecast", "serve", "--port", "0", *args]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, **(env or {})}, cwd=Path(__file__).parents[1])
        self.metrics_url: str | None = None
        self.ready_line = self._wait_ready(timeout)
        match = READY.search(self.ready_line)
        self.port = int(match.group(2))
        self.address = f"127.0.0.1:{self.port}"
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if metrics := METRICS.search(line or ""):
                self.metrics_url = metrics.group(1)
            if READY.search(line or ""):
                return line
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"facecast serve exited: {self.process.stderr.read()}")
        self.process.kill()
        raise RuntimeError("facecast serve did not become ready")

    def _drain(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait()
        return self.process.returncode
