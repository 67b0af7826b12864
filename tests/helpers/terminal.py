"""Running a command under a real pseudo-terminal with a window size, as a person at a terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_in_terminal(args: list[str], env: dict[str, str] | None = None, timeout: float = 30.0, rows: int = 40,
                    cols: int = 120, until: Callable[[str], bool] | None = None) -> tuple[int | None, str]:
    """Run ``args`` with stdin, stdout and stderr on a pty of ``rows`` x ``cols``; returns (exit code, all output).
    With ``until``, the process gets SIGTERM once the output satisfies it (then its exit code is returned)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=ROOT,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    os.close(follower)
    output, deadline, signalled = b"", time.monotonic() + timeout, False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the pty closes when the process exits
                    chunk = b""
                if not chunk and process.poll() is not None:
                    break
                output += chunk
            elif process.poll() is not None:
                break
            if until and not signalled and until(output.decode("utf-8", "replace")):
                process.send_signal(signal.SIGTERM)
                signalled = True
        else:
            process.kill()
        code = process.wait(10)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return code, output.decode("utf-8", "replace").replace("\r\n", "\n")
