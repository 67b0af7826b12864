"""Helpers of ``benchmarks/bench_neural.py``: the Rhubarb Lip Sync baseline, motion statistics, degraded audio
and the independent yardstick tracker.

They live beside the benchmark, not in ``core/facecast``, because the benchmark also runs under another
worktree's interpreter (to measure a model being built there), whose ``facecast`` package does not have them.
They use only the parts of ``facecast`` that every branch shares (motion contract, audio, train.evaluate).
"""
