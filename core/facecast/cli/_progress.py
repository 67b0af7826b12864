"""Progress bars on stderr for long work, measured in seconds of audio or video (hidden when not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]"


def seconds_bar(desc: str, quiet: bool = False, total: float | None = None) -> tqdm:
    # an unknown total starts at 0 (the reporter sets it): BAR_FORMAT's {total:.1f} cannot format None
    return tqdm(total=0.0 if total is None else total, unit="s", desc=desc, disable=quiet or None, file=sys.stderr,
                bar_format=BAR_FORMAT)


def reporter(bar: tqdm) -> Callable[[float, float], None]:
    """A ``progress(done, total)`` callback that moves ``bar``."""

    def progress(done: float, total: float) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return progress
