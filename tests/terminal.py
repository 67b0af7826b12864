"""Run a command as a user would: in a real pseudo-terminal with a size (so progress bars draw), output seen.
The one pty helper of the tests (pexpect underneath)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pexpect

FACECAST = str(Path(sys.executable).with_name("facecast"))
SIZE = (30, 110)  # rows, columns


class Run(NamedTuple):
    """What a command did: its exit status (128 + N when signal N ended it) and everything it printed."""

    status: int
    output: str

    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("facecast: error:")]


def run_in_terminal(*args: str, cwd: str | os.PathLike[str] | None = None, timeout: float = 180,
                    env: dict[str, str] | None = None, command: str = FACECAST,
                    until: Callable[[str], bool] | None = None) -> Run:
    """``facecast ARGS`` (or ``command``) in a pty of :data:`SIZE`; ``env`` replaces the environment if given.
    With ``until``, the process gets SIGTERM once its output so far satisfies it (a daemon that started) and
    its exit status is returned. :class:`TimeoutError` when it is still running after ``timeout`` seconds."""
    child = pexpect.spawn(command, list(args), cwd=None if cwd is None else str(cwd), dimensions=SIZE,
                          encoding="utf-8", codec_errors="replace",
                          env={**(os.environ if env is None else env), "COLUMNS": str(SIZE[1]),
                               "LINES": str(SIZE[0])})
    chunks: list[str] = []
    deadline = time.monotonic() + timeout
    signalled = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{command} {' '.join(args[:3])} did not finish in {timeout} s")
            try:
                chunks.append(child.read_nonblocking(65536, timeout=min(left, 0.5)))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
            if until is not None and not signalled and until("".join(chunks)):
                child.kill(signal.SIGTERM)
                signalled = True
    finally:
        child.close(force=True)
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    return Run(status, "".join(chunks).replace("\r\n", "\n"))


def assert_ok(run: Run) -> str:
    assert run.status == 0 and "Traceback" not in run.output, run.output[-3000:]
    return run.output


def assert_one_line_error(run: Run, *words: str) -> str:
    assert run.status != 0 and "Traceback" not in run.output, run.output[-3000:]
    errors = run.error_lines()
    assert len(errors) == 1, run.output[-3000:]
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]
