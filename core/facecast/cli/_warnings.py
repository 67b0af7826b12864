"""Warnings raised during a command, printed as one ``facecast: warning: ...`` line each (no file/line noise)."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, (UserWarning, RuntimeWarning)):
                    print(f"facecast: warning: {warning.message}", file=sys.stderr)
