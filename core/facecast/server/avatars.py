"""Avatars the daemon has fitted, and the renderers that turn motion into their texture frames."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from facecast import wire
from facecast.errors import InvalidInput, quoted
from facecast.motion import MotionFrame
from facecast.proto import facecast_pb2 as pb

if TYPE_CHECKING:  # the portrait stack (OpenCV, LiteRT) loads on first use, keeping the daemon's start fast
    from facecast.face import Avatar
    from facecast.render.renderer import Renderer

ENCODINGS = {pb.JPEG: "jpeg", pb.RGBA: "rgba"}
DEFAULT_TEXTURE_SIZE = 512
DEFAULT_JPEG_QUALITY = 90
MIN_TEXTURE_SIZE, MAX_TEXTURE_SIZE = 128, 2048
MAX_RENDERERS = 8
MAX_RENDERER_PIXELS = 2 * 2048**2  # a 2048-px renderer holds about 340 MB: at most two of those are cached


class AvatarStore:
    """Fitted avatars by id, the oldest evicted past ``max_avatars``; one renderer per (avatar, size), the least
    recently used dropped past ``max_renderers`` or :data:`MAX_RENDERER_PIXELS` (frame pixels of all cached
    renderers together). Safe to use from several threads (fitting and renderers are built in executors): a lock
    guards the maps, and the slow work (fitting, building a renderer) runs outside it.

    With ``folder`` (``serve --avatar-dir``, a directory every replica of the daemon mounts), each avatar is also
    saved there as ``<id>.fcavatar``, so any replica can serve an avatar another one created: an id unknown here
    is looked up among the folder's files (by listing it: a client's id never becomes a path), loaded and kept.
    The folder keeps the newest ``max_avatars`` files."""

    def __init__(self, max_avatars: int = 16, folder: str | Path | None = None,
                 max_renderers: int = MAX_RENDERERS) -> None:
        self.max_avatars = max_avatars
        self.folder = Path(folder) if folder else None
        self._avatars: OrderedDict[str, Avatar] = OrderedDict()
        self.max_renderers = max_renderers
        self._renderers: OrderedDict[tuple[str, int], Renderer] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._avatars)

    def create(self, request: pb.CreateAvatarRequest) -> tuple[str, Avatar]:
        """Fit the request's image (or load its .fcavatar) and keep it; returns the new id and the avatar."""
        from facecast.face import Avatar

        source = request.WhichOneof("source")
        if source == "avatar":
            avatar = Avatar.from_bytes(request.avatar, source="the uploaded avatar")
        elif source == "image" and request.image:
            box = request.face_box if request.HasField("face_box") else None
            face_box = (box.x, box.y, box.width, box.height) if box else None
            avatar = Avatar.from_file(request.image, face_box, name="the uploaded image")
        else:
            raise InvalidInput("CreateAvatar needs an image or a saved avatar")
        avatar_id = uuid.uuid4().hex[:16]
        if self.folder:
            avatar.save(self.folder / f"{avatar_id}.fcavatar")
            for old in sorted(self._shared().values(), key=_mtime)[:-self.max_avatars]:
                with contextlib.suppress(OSError):
                    old.unlink()
        self._keep(avatar_id, avatar)
        return avatar_id, avatar

    def _keep(self, avatar_id: str, avatar: Avatar) -> None:
        with self._lock:
            self._avatars[avatar_id] = avatar
            while len(self._avatars) > self.max_avatars:
                self._forget(next(iter(self._avatars)))

    def _shared(self) -> dict[str, Path]:
        """The avatars saved in the shared folder, by id."""
        if not self.folder or not self.folder.is_dir():
            return {}
        return {path.name[:-len(".fcavatar")]: path for path in self.folder.glob("*.fcavatar")}

    def _get(self, avatar_id: str) -> Avatar | None:
        with self._lock:
            avatar = self._avatars.get(avatar_id)
        if avatar is None and (path := self._shared().get(avatar_id)):
            from facecast.face import Avatar

            with contextlib.suppress(OSError):  # deleted meanwhile by another replica
                avatar = Avatar.load(path)
                self._keep(avatar_id, avatar)
        return avatar

    def delete(self, avatar_id: str) -> None:
        path = self._shared().get(avatar_id)
        if path:
            with contextlib.suppress(OSError):
                path.unlink()
        with self._lock:
            if avatar_id not in self._avatars and path is None:
                raise InvalidInput(f"unknown avatar id {quoted(avatar_id)}")
            self._forget(avatar_id)

    def _forget(self, avatar_id: str) -> None:
        self._avatars.pop(avatar_id, None)
        for key in [k for k in self._renderers if k[0] == avatar_id]:
            del self._renderers[key]

    def renderer(self, avatar_id: str, size: int) -> Renderer:
        """The renderer of ``avatar_id`` at ``size``, built on first use (slow for large sizes: call it from an
        executor)."""
        from facecast.render.renderer import Renderer

        if not MIN_TEXTURE_SIZE <= size <= MAX_TEXTURE_SIZE:
            raise InvalidInput(f"texture size (render size) must be {MIN_TEXTURE_SIZE}..{MAX_TEXTURE_SIZE} pixels, "
                               f"not {size}")
        key = (avatar_id, size)
        avatar = self._get(avatar_id)
        if avatar is None:
            raise InvalidInput(f"unknown avatar id {quoted(avatar_id)}; create it with CreateAvatar first")
        with self._lock:
            if key in self._renderers:
                self._renderers.move_to_end(key)
                return self._renderers[key]
        renderer = Renderer(avatar, size)
        with self._lock:
            if avatar_id in self._avatars:  # not deleted meanwhile
                renderer = self._renderers.setdefault(key, renderer)
                self._renderers.move_to_end(key)
                while len(self._renderers) > 1 and (len(self._renderers) > self.max_renderers or sum(
                        side**2 for _, side in self._renderers) > MAX_RENDERER_PIXELS):
                    self._renderers.popitem(last=False)
        return renderer

    @property
    def renderers(self) -> int:
        """How many renderers are cached."""
        return len(self._renderers)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class TextureStream:
    """Renders and encodes the texture frames of one call, off the event loop."""

    def __init__(self, renderer: Renderer, encoding: int, quality: int, executor: ThreadPoolExecutor) -> None:
        self.renderer, self.encoding, self.quality, self._executor = renderer, encoding, quality, executor

    @classmethod
    async def open(cls, options: pb.TextureOptions, store: AvatarStore,
                   executor: ThreadPoolExecutor) -> TextureStream | None:
        """None when the request asks for motion only; else validated options bound to a renderer (built in
        ``executor``, off the event loop)."""
        if options.encoding == pb.TEXTURE_NONE and not options.avatar_id:
            return None
        if options.encoding not in ENCODINGS:
            raise InvalidInput("texture encoding must be JPEG or RGBA")
        if not options.avatar_id:
            raise InvalidInput("texture frames need an avatar_id from CreateAvatar")
        quality = options.jpeg_quality or DEFAULT_JPEG_QUALITY
        if not 1 <= quality <= 100:
            raise InvalidInput(f"jpeg_quality must be in 1..100, not {quality}")
        renderer = await asyncio.get_running_loop().run_in_executor(
            executor, store.renderer, options.avatar_id, options.size or DEFAULT_TEXTURE_SIZE)
        return cls(renderer, options.encoding, quality, executor)

    def _render(self, frames: list[MotionFrame]) -> list[pb.MotionResponse]:
        import numpy as np

        from facecast.render.texture import encode_texture

        values = np.stack([f.values for f in frames])
        translation = np.stack([f.head_translation for f in frames])
        size = self.renderer.size
        return [pb.MotionResponse(texture=pb.TextureFrame(
            index=f.index, time_code=f.time, encoding=self.encoding, width=size, height=size,
            data=encode_texture(image, ENCODINGS[self.encoding], self.quality)))
            for f, image in zip(frames, self.renderer.frames(values, translation), strict=True)]

    @staticmethod
    def frame_bytes(options: pb.TextureOptions) -> int:
        """Bytes one encoded frame of ``options`` holds at most (RGBA as sent, a JPEG at most a byte per pixel);
        0 without textures. Known before any renderer is built."""
        if options.encoding not in ENCODINGS:
            return 0
        return _frame_bytes(options.size or DEFAULT_TEXTURE_SIZE, options.encoding)

    @property
    def batch_frames(self) -> int:
        """Frames rendered together at most, so one batch's textures stay within
        :data:`facecast.wire.MAX_TEXTURE_BATCH_BYTES`."""
        return max(1, wire.MAX_TEXTURE_BATCH_BYTES // _frame_bytes(self.renderer.size, self.encoding))

    async def render(self, frames: list[MotionFrame]) -> list[pb.MotionResponse]:
        if not frames:
            return []
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._render, frames)

    async def batches(self, frames: list[MotionFrame]) -> AsyncIterator[list[pb.MotionResponse]]:
        """The texture frames of ``frames``, :attr:`batch_frames` at a time: each batch is rendered only once the
        one before it has been taken, so a long chunk at a large size never holds all its textures at once."""
        for first in range(0, len(frames), self.batch_frames):
            yield await self.render(frames[first:first + self.batch_frames])


def _frame_bytes(size: int, encoding: int) -> int:
    return max(1, size) ** 2 * (4 if encoding == pb.RGBA else 1)
