"""numpy's OpenBLAS in a facecast process: one thread unless the caller asks for more (its spinning worker took
0.9 of a core from a daemon's live streams, docs/BENCHMARKS.md, "Faster neural streams")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through Linux /proc")

PRODUCT = ("import numpy as np, os; a = np.ones((600, 600), np.float32); a @ a; "
           "print(len(os.listdir('/proc/self/task')))")


def threads_after_a_product(first: str, **env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")} | env
    out = subprocess.run([sys.executable, "-c", f"{first}{PRODUCT}"], capture_output=True, text=True,
                         env=environment, check=True, timeout=60)
    return int(out.stdout.strip())


def test_a_process_that_imports_facecast_first_multiplies_matrices_on_one_thread():
    assert threads_after_a_product("import facecast; ") == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS starts no workers on one core")
def test_the_callers_own_openblas_setting_is_kept():
    assert threads_after_a_product("") > 1  # numpy alone: a worker per core (what the test above would see)
    assert threads_after_a_product("import facecast; ", OPENBLAS_NUM_THREADS="2") == 2
