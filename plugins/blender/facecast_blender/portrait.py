"""Talking portrait without bpy: bake the daemon's texture frames into a numbered JPEG image sequence.

On a worker thread the portrait is uploaded with ``CreateAvatar`` and the audio animated with JPEG texture
frames (``Animate`` with ``TextureOptions``); every frame goes into a hidden folder beside the destination,
which is renamed to the destination only when the last frame is on disk. A failure or a cancel removes the
hidden folder, so a sequence folder is either complete or absent. Blender then plays the folder as an image
sequence on a plane (``ops_portrait.py``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from facecast.client import Client, ServerError, texture_options
from facecast.controls import Controls
from facecast.errors import FacecastError
from facecast.fileio import atomic_dir

from .jobs import Job

FRAME_NAME = "frame_{:04d}.jpg"  # Blender reads the number before the extension; the sequence starts at 1


@dataclass
class PortraitTake:
    """A finished image sequence: its folder, first file (what Blender loads), frame count and rate."""

    folder: str
    first_frame: str
    frames: int
    fps: int


def sequence_folder(parent: str, portrait: str, audio: str) -> str:
    """``parent/<portrait>_<audio>`` (``_1``, ``_2`` … when taken: never overwrite an earlier take, another plane
    may still play it)."""
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]
    base = os.path.join(parent, f"{stem(portrait)}_{stem(audio)}")
    taken = 0
    while os.path.exists(path := f"{base}_{taken}" if taken else base):
        taken += 1
    return path


def write_sequence(client: Client, job: Job, avatar_id: str, audio: bytes, folder: str, animator: str | None,
                   fps: int, controls: Controls, size: int, jpeg_quality: int) -> int:
    """Animate ``audio`` with JPEG textures of ``avatar_id`` into ``folder`` (created here, whole or not at all);
    returns the number of frames."""
    with atomic_dir(folder) as partial:
        total, written = 0, 0
        for response in client.animate_responses(audio, animator, fps, controls,
                                                 texture=texture_options(avatar_id, "jpeg", size, jpeg_quality)):
            kind = response.WhichOneof("kind")
            if kind == "header":
                total = response.header.total_frames
            elif kind == "texture":
                with open(os.path.join(partial, FRAME_NAME.format(response.texture.index + 1)), "wb") as f:
                    f.write(response.texture.data)
                written += 1
                job.progress(written, total)
        if not written:
            raise FacecastError("the daemon sent no texture frames")
    return written


def portrait_job(address: str, token: str | None, portrait: str, audio: bytes, folder: str, animator: str | None,
                 fps: int, controls: Controls, size: int, jpeg_quality: int = 90) -> Job:
    """Upload ``portrait``, bake the talking portrait into ``folder``; the result is a :class:`PortraitTake`."""

    def work(job: Job) -> PortraitTake:
        with Client(address, token or None) as client:
            avatar_id = client.create_avatar(portrait).avatar_id
            try:
                frames = write_sequence(client, job, avatar_id, audio, folder, animator, fps, controls, size,
                                        jpeg_quality)
            finally:
                with contextlib.suppress(ServerError):  # the daemon keeps a few avatars (oldest dropped): free ours
                    client.delete_avatar(avatar_id)
        return PortraitTake(folder, os.path.join(folder, FRAME_NAME.format(1)), frames, fps)

    return Job(work, "facecast-portrait")
