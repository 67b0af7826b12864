"""Soak: 8 subjects at 60 fps for 60 s through a real daemon to a loopback receiver. Asserts that no frame is
lost and frame numbers arrive in order; jitter is printed, not asserted (benchmarks/bench_unreal.py reports it)."""

from __future__ import annotations

import pytest
from unreal_helpers import soak


@pytest.mark.slow
def test_eight_subjects_sixty_fps_for_a_minute(daemon):
    result = soak(daemon.address, subjects=8, fps=60, seconds=60.0, realtime=True)
    print(f"\n{result.notes}\nsend jitter {result.send_jitter_ms}  arrival jitter {result.arrival_jitter_ms}  "
          f"lateness {result.late_ms}")
    assert not result.errors
    assert result.received == {f"NPC_{i:02d}": 3600 for i in range(8)}
    assert result.in_order and result.consecutive
