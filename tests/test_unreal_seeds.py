"""NPCs streamed by one bridge do not move in lockstep (issue 13 #7): each subject's seed comes from its name
unless ``--seed`` is given, and the same name always moves the same way."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import numpy as np
import soundfile as sf
from terminal import assert_ok, run_in_terminal

from facecast.motion import CHANNEL_INDEX
from facecast.unreal.bridge import subject_seed
from facecast.unreal.packet import decode_packet

ASSETS = Path(__file__).resolve().parents[1] / "assets"
IDLE = [CHANNEL_INDEX[n] for n in ("HeadYaw", "HeadPitch", "EyeBlinkLeft", "LeftEyeYaw")]


def test_subject_seed_is_stable_and_differs_by_name() -> None:
    assert subject_seed("Ada") == subject_seed("Ada")
    assert len({subject_seed(n) for n in ("Ada", "Bob", "Cy", "NPC_01", "NPC_02")}) == 5
    assert all(0 <= subject_seed(n) < 2**31 for n in ("Ada", "Bob", ""))


def _stream(tmp_path: Path, daemon, *extra: str) -> dict[str, np.ndarray]:
    """Stream two subjects saying the same line; the idle channels each received, by subject."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    got: dict[str, list[np.ndarray]] = {}
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                packet = decode_packet(receiver.recvfrom(65536)[0])
            except TimeoutError:
                continue
            got.setdefault(packet.subject, []).append(np.asarray(packet.values)[IDLE])

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        assert_ok(run_in_terminal("unreal", "stream", "--subject", "Ada=line.wav", "--subject", "Bob=line.wav",
                                  "--port", str(receiver.getsockname()[1]), "--server", daemon.address, *extra,
                                  cwd=tmp_path, timeout=60))
    finally:
        stop.set()
        thread.join(5)
        receiver.close()
    assert set(got) == {"Ada", "Bob"}
    return {name: np.stack(values) for name, values in got.items()}


def test_stream_subjects_get_their_own_seed_unless_one_is_given(tmp_path: Path, daemon) -> None:
    samples, rate = sf.read(ASSETS / "speech_en.wav")
    sf.write(tmp_path / "line.wav", samples[: 2 * rate], rate)
    own = _stream(tmp_path, daemon)
    n = min(len(own["Ada"]), len(own["Bob"]))
    assert np.abs(own["Ada"][:n] - own["Bob"][:n]).max() > 1e-3, "two NPCs moved in lockstep"
    shared = _stream(tmp_path, daemon, "--seed", "5")
    n = min(len(shared["Ada"]), len(shared["Bob"]))
    np.testing.assert_allclose(shared["Ada"][:n], shared["Bob"][:n], atol=1e-6)
