"""One consumer thread behind a bounded queue, so a producer (the renderer) and a consumer (the H.264 encoder)
run at the same time, with the consumer's error coming back to the producer as itself.

- :class:`BackgroundConsumer`: ``with BackgroundConsumer(consume, depth) as worker: worker.put(item)``. Items go
  to ``consume`` one by one, in order, on one thread; ``put`` blocks while ``depth`` items wait (memory stays
  bounded). An exception ``consume`` raises is raised again, the same object, by the next ``put`` or when the
  block ends; the items after it are dropped. An exception in the block (the producer's) makes the worker drop
  what is still queued and the exception goes on as it was. Either way the thread has ended when the block has.

Used where the consumer spends its time outside the GIL (libx264, OpenCV, the muxer all release it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_STOP = object()


class BackgroundConsumer(Generic[T]):
    """Feeds items to ``consume`` on one background thread through a queue of at most ``depth`` items."""

    def __init__(self, consume: Callable[[T], None], depth: int = 4, name: str = "facecast-consumer") -> None:
        if depth < 1:
            raise ValueError(f"queue depth must be at least 1, not {depth}")
        self._consume = consume
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abandon = threading.Event()  # the producer failed: drop the rest
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> BackgroundConsumer[T]:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._abandon.set()
        self._queue.put(_STOP)  # never blocks for long: the thread consumes or drops until it sees this
        self._thread.join()
        if kind is None:
            self._raise_if_failed()

    def put(self, item: T) -> None:
        """Queue ``item`` for the consumer; raises what the consumer raised, if it has."""
        self._raise_if_failed()
        self._queue.put(item)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is not None or self._abandon.is_set():
                continue  # drain, so a blocked put() and __exit__ go on
            try:
                self._consume(item)  # type: ignore[arg-type]  # every item but _STOP came through put()
            except BaseException as e:  # handed to the producer's thread, raised there
                self._error = e
