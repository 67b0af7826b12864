"""Shared fixtures. Tests that need the team's real data (../shared/data) skip with a reason when it is absent;
the few files the core tests need are shipped in ``assets/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SHARED_DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def c2pa_keys_outside_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every mp4 is signed with a locally generated C2PA key; the suite keeps its own, not the user's in $HOME.
    Set in the environment so the daemons and CLI processes the tests start use it too."""
    if "FACECAST_C2PA_DIR" not in os.environ:
        os.environ["FACECAST_C2PA_DIR"] = str(tmp_path_factory.mktemp("c2pa"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real portraits, speech, videos, Live Link Face recordings), or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set FACECAST_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def assets() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def daemon():
    """One real ``facecast serve`` on 127.0.0.1 (ephemeral port) shared by the tests of a session."""
    from daemon import Daemon

    d = Daemon()
    yield d
    d.stop()


def speech_file() -> Path:
    """A real English speech clip: from ../shared/data when present, else the shipped copy."""
    candidate = SHARED_DATA / "speech" / "sadtalker_RD_Radio34_002.wav"
    return candidate if candidate.exists() else ASSETS / "speech_en.wav"
