"""Talking portrait without bpy: render the portrait video with the local facecast installation.

The daemon streams motion, not pictures (its API has no texture frames yet), so the add-on runs
``facecast animate AUDIO --image PORTRAIT -o take.mp4 --server ADDRESS``: the daemon animates, the local
facecast renders the portrait (with its watermark) and writes the video atomically. Blender then plays the
video as a movie texture on a plane, frame-locked to the timeline.
"""

from __future__ import annotations

import os
import subprocess

from facecast.controls import Controls
from facecast.errors import FacecastError

from .daemon import find_executable
from .jobs import Job


def render_command(executable: str, audio: str, portrait: str, output: str, address: str, fps: int,
                   animator: str | None, controls: Controls) -> list[str]:
    """The ``facecast animate`` command line that renders ``portrait`` speaking ``audio`` to ``output``."""
    command = [find_executable(executable), "animate", audio, "--image", portrait, "-o", output, "--server", address,
               "--fps", str(fps), "--emotion", controls.emotion, "--emotion-intensity", str(controls.emotion_intensity),
               "--head-motion", str(controls.head_motion), "--seed", str(controls.seed), "--quiet"]
    if controls.gaze is not None:
        command += ["--gaze", str(controls.gaze[0]), str(controls.gaze[1])]
    if animator:
        command += ["--animator", animator]
    return command


def render_job(command: list[str], token: str) -> Job:
    """Run the render on a worker thread; the result is the output path, errors are facecast's own message."""

    def work(job: Job) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        if token:
            env["FACECAST_TOKEN"] = token
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        while process.poll() is None:
            if job.cancelled.wait(0.1):
                process.terminate()
                process.wait()
                job.progress(0, 1)  # raises Cancelled
        stderr = process.stderr.read().strip().splitlines()
        if process.returncode:
            raise FacecastError((stderr[-1] if stderr else f"facecast animate exited with {process.returncode}")
                                .removeprefix("facecast: error: "))
        return command[command.index("-o") + 1]

    return Job(work, "facecast-portrait")
