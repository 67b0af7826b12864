"""Shared fixtures. Tests that need the team's real data (../shared/data) skip with a reason when it is absent;
the few files the core tests need are shipped in ``assets/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SHARED_DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real portraits, speech, videos, Live Link Face recordings), or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set FACECAST_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def assets() -> Path:
    return ASSETS
