"""Run a command under a real pseudo-terminal of a given size and collect what it prints (stdout + stderr)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time


def run_in_pty(args: list[str], columns: int = 100, rows: int = 30, timeout: float = 120.0,
               cwd: str | None = None) -> tuple[int, str]:
    """``(exit code, output)`` of ``args`` run with a terminal of ``columns`` x ``rows`` as its stdio."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ, COLUMNS=str(columns), LINES=str(rows), TERM="xterm")
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env,
                               close_fds=True)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
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
        else:
            process.kill()
            raise TimeoutError(f"{args[:3]} did not finish in {timeout} s")
        code = process.wait(timeout=10)
    finally:
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8", "replace")
