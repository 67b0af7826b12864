"""Loading and running the shipped ``.tflite`` face models with LiteRT (``ai-edge-litert``).

The models come out of the ``mediapipe`` 0.10.21 wheel (Apache-2.0, see ``models/face/README.md``). LiteRT runs
them with its XNNPACK CPU delegate; a face model is small, so one or two threads is the fastest setting on a
busy machine and keeps several sessions from fighting over cores.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

from facecast.errors import FacecastError

MODEL_DIR = Path(os.environ.get("FACECAST_FACE_MODELS", Path(__file__).resolve().parents[1] / "models" / "face"))


class TfliteModel:
    """One ``.tflite`` model with a single float32 input; ``run(x)`` returns its outputs by name."""

    def __init__(self, filename: str, threads: int = 1) -> None:
        path = MODEL_DIR / filename
        if not path.is_file():
            raise FacecastError(f"face model {path} is missing; run scripts/fetch_face_models.sh to extract it "
                                "from the mediapipe 0.10.21 wheel")
        from ai_edge_litert.interpreter import Interpreter

        with _stderr_silenced():  # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" from C++
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self._interpreter.allocate_tensors()
        detail = self._interpreter.get_input_details()[0]
        self._input = detail["index"]
        self.input_shape = tuple(int(n) for n in detail["shape"])
        self._outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._lock = threading.Lock()  # an interpreter holds its tensors: one caller at a time

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        with self._lock:
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
            self._interpreter.invoke()
            return {name: self._interpreter.get_tensor(index).copy() for name, index in self._outputs.items()}


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment (C++ logging bypasses Python's sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@cache
def shared_model(filename: str, threads: int = 1) -> TfliteModel:
    """A process-wide instance per model file and thread count."""
    return TfliteModel(filename, threads)
