"""The portrait renderer: motion + avatar → watermarked RGB frames, mp4 files and texture streams.

- :class:`Renderer` (per avatar and size, precomputed once) and :func:`render_frames` (clip → frames);
- :func:`write_video` (H.264 + AAC mp4, atomic), :func:`encode_texture` (JPEG or RGBA bytes);
- :func:`verify_file` (does a video or image carry the facecast watermark?).
"""

from facecast.render.renderer import DEFAULT_SIZE, Renderer, render_frames
from facecast.render.texture import TEXTURE_ENCODINGS, decode_texture, encode_texture
from facecast.render.verify import verify_file
from facecast.render.video import write_video

__all__ = ["DEFAULT_SIZE", "TEXTURE_ENCODINGS", "Renderer", "decode_texture", "encode_texture", "render_frames",
           "verify_file", "write_video"]
