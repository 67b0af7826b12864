"""ONNX Runtime: which execution providers this machine can use, and sessions that use them.

CUDA is used where the ``onnxruntime-gpu`` build is installed and a CUDA driver is present (the ``gpu`` extra);
everything else runs on the CPU provider. The daemon reports :func:`onnx_providers` in GetInfo.
"""

from __future__ import annotations

import ctypes.util
import os
from functools import cache
from pathlib import Path
from typing import Any

from facecast.errors import FacecastError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@cache
def onnx_providers() -> list[str]:
    """ONNX Runtime execution providers usable here, best first (CUDA only where a GPU driver is present)."""
    try:
        import onnxruntime
    except ImportError:
        return []
    available = onnxruntime.get_available_providers()
    return [p for p in (CUDA, CPU) if p in available and (p != CUDA or _cuda_usable())]


def _cuda_usable() -> bool:
    return ctypes.util.find_library("cuda") is not None


def inference_session(path: str | os.PathLike[str], threads: int = 1, spin: bool = True) -> Any:
    """An ``onnxruntime.InferenceSession`` for the model at ``path`` on the best provider, with ``threads``
    intra-op threads on the CPU (a small model on a busy machine runs fastest on one or two). ``spin=False``: the
    threads sleep between calls instead of spinning (for occasional large calls beside a latency-bound model)."""
    import onnxruntime

    if not Path(path).is_file():
        raise FacecastError(f"model {path} is missing")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = onnx_providers() or [CPU]
    return onnxruntime.InferenceSession(os.fspath(path), options, providers=providers)
