"""Minutes-long runs of the daemon, for ``make soak`` (FACECAST_SOAK=1): 64 real-time streams for 60 s, and
rounds of streams, clips and vanished clients whose daemon RSS must stay within 5% of the first round's."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from facecast.client import Client

from conftest import ASSETS
from daemon import Daemon
from loadgen import VANISHING_CLIENT, rss_kb, run_load, wait_until

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900),
              pytest.mark.skipif(not os.environ.get("FACECAST_SOAK"), reason="make soak runs it (FACECAST_SOAK=1)")]


def test_64_real_time_streams_for_60_s_admit_what_is_served_on_time(capsys):
    d = Daemon()
    try:
        baseline = run_load(d.address, streams=4, seconds=10.0, processes=2)
        result = run_load(d.address, streams=64, seconds=60.0)
    finally:
        d.stop()
    with capsys.disabled():
        print(f"\nbaseline: {baseline.summary()}\nload: {result.summary()}")
    result.assert_admitted_served_in_full(1800)


def test_rss_grows_at_most_5_percent_over_rounds_of_streams_clips_and_vanished_clients(capsys):
    d = Daemon()
    samples = []
    try:
        for _ in range(8):
            run_load(d.address, streams=16, seconds=5.0, processes=2)
            with Client(d.address, timeout=60) as client:
                client.animate(ASSETS / "speech_en.wav", animator="energy")
                vanishing = [subprocess.Popen([sys.executable, "-c", VANISHING_CLIENT, d.address]) for _ in range(4)]
                time.sleep(2.0)
                for p in vanishing:
                    p.kill()
                    p.wait()
                assert wait_until(lambda c=client: c.info()["active_sessions"] == 0, 30)
            samples.append(rss_kb(d.process.pid))
    finally:
        d.stop()
    first, last = samples[1], samples[-1]  # round 0 warms caches and allocator pools
    with capsys.disabled():
        print(f"\nsoak RSS per round (MB): {[round(s / 1024) for s in samples]}; growth after round 1: "
              f"{(last - first) / first * 100:+.1f}%")
    assert last <= first * 1.05
