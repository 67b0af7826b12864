"""Start a local facecast daemon (``facecast serve``) from a configured executable, without bpy.

The daemon prints ``facecast serving on HOST:PORT`` once it accepts connections; we ask for port 0 (any free
port) and read the address from that line, so two Blender sessions never fight over a port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time

from facecast.errors import FacecastError

READY = re.compile(r"facecast serving on (\S+)")


class LocalDaemon:
    """A ``facecast serve`` child process and the address it listens on."""

    def __init__(self, process: subprocess.Popen[str], address: str) -> None:
        self.process = process
        self.address = address

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the daemon (it drains its sessions on SIGTERM), killing it if it will not stop."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def find_executable(configured: str) -> str:
    """The ``facecast`` executable: the configured path, else ``facecast`` on PATH; clear error if neither."""
    if configured:
        path = os.path.expanduser(configured)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise FacecastError(f"facecast executable {configured!r} does not exist or is not executable; set "
                            "'Executable' to the facecast program of your installation (e.g. .venv/bin/facecast)")
    found = shutil.which("facecast")
    if not found:
        raise FacecastError("no facecast executable on PATH; set 'Executable' in the Facecast panel")
    return found


def start(executable: str, token: str = "", timeout: float = 60.0) -> LocalDaemon:
    """Spawn ``facecast serve --port 0`` on 127.0.0.1 and wait until it prints its address."""
    command = [find_executable(executable), "serve", "--host", "127.0.0.1", "--port", "0"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the ready line must not sit in a pipe buffer
    for name in ("PYTHONPATH", "PYTHONHOME"):  # Blender's Python settings would break the daemon's own Python
        env.pop(name, None)
    if token:
        env["FACECAST_TOKEN"] = token
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)
    lines: list[str] = []
    address: list[str] = []

    def read() -> None:  # the pipe must keep draining after startup, or the daemon blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            match = READY.search(line)
            if match and not address:
                address.append(match.group(1))

    threading.Thread(target=read, daemon=True, name="facecast-daemon-log").start()
    deadline = time.monotonic() + timeout
    while not address:
        if process.poll() is not None:
            tail = " | ".join(lines[-3:]) or "no output"
            raise FacecastError(f"facecast serve exited with code {process.returncode}: {tail}")
        if time.monotonic() > deadline:
            process.terminate()
            raise FacecastError(f"facecast serve did not report ready within {timeout:g} s")
        time.sleep(0.05)
    return LocalDaemon(process, address[0])
