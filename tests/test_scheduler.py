"""The per-model scheduler gathers the work of concurrent sessions into batches for the animator."""

from __future__ import annotations

import asyncio

import numpy as np

from facecast.animators import get_animator
from facecast.controls import Controls
from facecast.server.scheduler import ModelScheduler


def test_concurrent_sessions_share_batches_and_each_gets_its_own_frames():
    animator = get_animator("energy")
    chunk = (0.1 * np.sin(np.arange(3200) / 8)).astype(np.float32)

    async def run() -> tuple[list, ModelScheduler]:
        scheduler = ModelScheduler(animator, max_batch=64)
        sessions = [animator.stream(Controls(seed=i), 30) for i in range(16)]
        try:
            results = await asyncio.gather(*(scheduler.run(s, chunk) for s in sessions for _ in range(3)))
            results += await asyncio.gather(*(scheduler.run(s, None) for s in sessions))
        finally:
            await scheduler.close()
        return results, scheduler

    results, scheduler = asyncio.run(run())
    assert scheduler.items == 16 * 4
    assert scheduler.batches < scheduler.items / 4  # work queued together ran together
    alone = animator.stream(Controls(seed=5), 30)
    expected = sum((alone.push(chunk) for _ in range(3)), []) + alone.flush()
    # gather keeps request order: session 5's three pushes, then (after all pushes) its flush
    got = [f for r in results[15:18] for f in r] + results[48 + 5]
    np.testing.assert_array_equal(np.stack([f.values for f in got]), np.stack([f.values for f in expected]))
