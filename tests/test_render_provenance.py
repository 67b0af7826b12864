"""C2PA content credentials: every mp4 facecast writes carries a signed manifest naming facecast and synthetic
media, the signing identity is made once and reused, and `facecast verify` reports the manifest (under a real
terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, provenance, write_video

ASSETS = Path(__file__).resolve().parents[1] / "assets"
pytestmark = pytest.mark.skipif(not provenance.available(), reason="c2pa-python / cryptography not installed")


@pytest.fixture(scope="module")
def key_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("c2pa")
    old = os.environ.get(provenance.KEY_DIR_ENV)
    os.environ[provenance.KEY_DIR_ENV] = str(folder)
    yield folder
    if old is None:
        os.environ.pop(provenance.KEY_DIR_ENV, None)
    else:
        os.environ[provenance.KEY_DIR_ENV] = old


@pytest.fixture(scope="module")
def signed_video(key_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = np.zeros((12, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["JawOpen"]] = np.linspace(0, 0.5, 12)
    path = tmp_path_factory.mktemp("video") / "talk.mp4"
    write_video(path, MotionClip(30, values), Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 256))
    return path


def test_every_video_carries_signed_credentials(signed_video: Path, key_folder: Path) -> None:
    credentials = provenance.read_credentials(signed_video)
    assert credentials is not None
    assert credentials.generator == "facecast" and credentials.title == "talk.mp4"
    assert credentials.source_type == "trainedAlgorithmicMedia"
    # Intact and signed; only the locally made signer is (honestly) not on a public trust list.
    assert credentials.validation.lower() in ("valid", "trusted")
    assert set(credentials.problems) <= {"signingCredential.untrusted"}
    assert (key_folder / "chain.pem").exists() and (key_folder / "signer.key").exists()


def test_signing_identity_is_made_once_and_reused(key_folder: Path) -> None:
    first = provenance.signing_identity()
    assert provenance.signing_identity() == first
    assert first[0].count(b"BEGIN CERTIFICATE") == 2  # leaf and the local root that issued it


def test_tampered_video_fails_validation(signed_video: Path, tmp_path: Path) -> None:
    data = bytearray(signed_video.read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 200] ^= 0xFF  # one byte of the picture changed after signing
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    credentials = provenance.read_credentials(tampered)
    assert credentials is not None and credentials.validation.lower() == "invalid"
    assert any("mismatch" in p for p in credentials.problems), credentials.problems


def run_in_terminal(args: list[str], columns: int = 100, rows: int = 30, timeout: float = 120) -> tuple[int, str]:
    """Run a command with stdout and stderr on a real pseudo-terminal of the given size."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=10), output.decode(errors="replace")


@pytest.mark.slow
def test_verify_reports_the_credentials_in_a_terminal(signed_video: Path, key_folder: Path) -> None:
    code, out = run_in_terminal([sys.executable, "-m", "facecast", "verify", str(signed_video)])
    assert code == 0, out
    assert "carries the facecast watermark" in out
    assert "C2PA content credentials: made by facecast, trainedAlgorithmicMedia; manifest valid" in out
    code, out = run_in_terminal([sys.executable, "-m", "facecast", "verify", str(ASSETS / "mona_lisa.jpg")])
    assert code == 1 and "C2PA content credentials: none" in out and "Traceback" not in out
