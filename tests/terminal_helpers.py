"""Run a command under a real pseudo-terminal of a given size and collect what it prints (stdout + stderr)."""

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


def run_in_pty(args: list[str], columns: int = 100, rows: int = 30, timeout: float = 120.0,
               cwd: str | None = None, env: dict[str, str] | None = None,
               until: Callable[[str], bool] | None = None) -> tuple[int, str]:
    """``(exit code, output)`` of ``args`` run with a terminal of ``columns`` x ``rows`` as its stdio; ``env`` is
    laid over the current environment. With ``until``, the process gets SIGTERM once its output satisfies it (a
    daemon that started), and its exit code is then returned."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm", **(env or {})}
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env,
                               close_fds=True)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    signalled = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
            if until is not None and not signalled and until(b"".join(chunks).decode("utf-8", "replace")):
                process.send_signal(signal.SIGTERM)
                signalled = True
        else:
            process.kill()
            process.wait(timeout=10)
            raise TimeoutError(f"{args[:3]} did not finish in {timeout} s")
        code = process.wait(timeout=10)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return code, b"".join(chunks).decode("utf-8", "replace")
