"""Run a command as a user would: in a real pseudo-terminal with a size (so progress bars draw), output seen."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pexpect

FACECAST = str(Path(sys.executable).with_name("facecast"))
SIZE = (30, 110)  # rows, columns


@dataclass
class Run:
    status: int
    output: str

    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("facecast: error:")]


def run_in_terminal(*args: str, cwd: str | os.PathLike[str] | None = None, timeout: float = 180,
                    env: dict[str, str] | None = None, command: str = FACECAST) -> Run:
    """``facecast ARGS`` (or ``command``) in a pty of :data:`SIZE`; ``env`` replaces the environment if given."""
    child = pexpect.spawn(command, list(args), cwd=None if cwd is None else str(cwd), dimensions=SIZE,
                          encoding="utf-8", codec_errors="replace", timeout=timeout,
                          env={**(os.environ if env is None else env), "COLUMNS": str(SIZE[1])})
    output = child.read()
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    return Run(status, output.replace("\r\n", "\n"))


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
