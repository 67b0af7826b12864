from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SampleFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLE_FORMAT_UNSPECIFIED: _ClassVar[SampleFormat]
    PCM16: _ClassVar[SampleFormat]
    FLOAT32: _ClassVar[SampleFormat]

class TextureEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXTURE_NONE: _ClassVar[TextureEncoding]
    JPEG: _ClassVar[TextureEncoding]
    RGBA: _ClassVar[TextureEncoding]
SAMPLE_FORMAT_UNSPECIFIED: SampleFormat
PCM16: SampleFormat
FLOAT32: SampleFormat
TEXTURE_NONE: TextureEncoding
JPEG: TextureEncoding
RGBA: TextureEncoding

class Gaze(_message.Message):
    __slots__ = ("yaw", "pitch")
    YAW_FIELD_NUMBER: _ClassVar[int]
    PITCH_FIELD_NUMBER: _ClassVar[int]
    yaw: float
    pitch: float
    def __init__(self, yaw: _Optional[float] = ..., pitch: _Optional[float] = ...) -> None: ...

class Controls(_message.Message):
    __slots__ = ("emotion", "emotion_intensity", "camera", "gaze", "head_motion", "intensity", "blink_rate", "seed")
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    EMOTION_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    GAZE_FIELD_NUMBER: _ClassVar[int]
    HEAD_MOTION_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    BLINK_RATE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    emotion: str
    emotion_intensity: float
    camera: bool
    gaze: Gaze
    head_motion: float
    intensity: float
    blink_rate: float
    seed: int
    def __init__(self, emotion: _Optional[str] = ..., emotion_intensity: _Optional[float] = ..., camera: _Optional[bool] = ..., gaze: _Optional[_Union[Gaze, _Mapping]] = ..., head_motion: _Optional[float] = ..., intensity: _Optional[float] = ..., blink_rate: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class Pcm(_message.Message):
    __slots__ = ("data", "format", "sample_rate")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    format: SampleFormat
    sample_rate: int
    def __init__(self, data: _Optional[bytes] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class AudioInput(_message.Message):
    __slots__ = ("encoded", "pcm")
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    pcm: Pcm
    def __init__(self, encoded: _Optional[bytes] = ..., pcm: _Optional[_Union[Pcm, _Mapping]] = ...) -> None: ...

class TextureOptions(_message.Message):
    __slots__ = ("avatar_id", "encoding", "size", "jpeg_quality")
    AVATAR_ID_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    JPEG_QUALITY_FIELD_NUMBER: _ClassVar[int]
    avatar_id: str
    encoding: TextureEncoding
    size: int
    jpeg_quality: int
    def __init__(self, avatar_id: _Optional[str] = ..., encoding: _Optional[_Union[TextureEncoding, str]] = ..., size: _Optional[int] = ..., jpeg_quality: _Optional[int] = ...) -> None: ...

class FaceBox(_message.Message):
    __slots__ = ("x", "y", "width", "height")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    width: float
    height: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., width: _Optional[float] = ..., height: _Optional[float] = ...) -> None: ...

class CreateAvatarRequest(_message.Message):
    __slots__ = ("image", "avatar", "face_box")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    FACE_BOX_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    avatar: bytes
    face_box: FaceBox
    def __init__(self, image: _Optional[bytes] = ..., avatar: _Optional[bytes] = ..., face_box: _Optional[_Union[FaceBox, _Mapping]] = ...) -> None: ...

class CreateAvatarResponse(_message.Message):
    __slots__ = ("avatar_id", "width", "height", "landmarks", "score")
    AVATAR_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LANDMARKS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    avatar_id: str
    width: int
    height: int
    landmarks: _containers.RepeatedScalarFieldContainer[float]
    score: float
    def __init__(self, avatar_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., landmarks: _Optional[_Iterable[float]] = ..., score: _Optional[float] = ...) -> None: ...

class DeleteAvatarRequest(_message.Message):
    __slots__ = ("avatar_id",)
    AVATAR_ID_FIELD_NUMBER: _ClassVar[int]
    avatar_id: str
    def __init__(self, avatar_id: _Optional[str] = ...) -> None: ...

class DeleteAvatarResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AnimateRequest(_message.Message):
    __slots__ = ("audio", "animator", "fps", "controls", "text", "language", "frames_per_message", "echo_audio", "texture")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    ANIMATOR_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ECHO_AUDIO_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_FIELD_NUMBER: _ClassVar[int]
    audio: AudioInput
    animator: str
    fps: int
    controls: Controls
    text: str
    language: str
    frames_per_message: int
    echo_audio: bool
    texture: TextureOptions
    def __init__(self, audio: _Optional[_Union[AudioInput, _Mapping]] = ..., animator: _Optional[str] = ..., fps: _Optional[int] = ..., controls: _Optional[_Union[Controls, _Mapping]] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., frames_per_message: _Optional[int] = ..., echo_audio: _Optional[bool] = ..., texture: _Optional[_Union[TextureOptions, _Mapping]] = ...) -> None: ...

class StreamConfig(_message.Message):
    __slots__ = ("animator", "fps", "sample_rate", "format", "controls", "echo_audio", "text", "language", "texture")
    ANIMATOR_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    ECHO_AUDIO_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_FIELD_NUMBER: _ClassVar[int]
    animator: str
    fps: int
    sample_rate: int
    format: SampleFormat
    controls: Controls
    echo_audio: bool
    text: str
    language: str
    texture: TextureOptions
    def __init__(self, animator: _Optional[str] = ..., fps: _Optional[int] = ..., sample_rate: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., controls: _Optional[_Union[Controls, _Mapping]] = ..., echo_audio: _Optional[bool] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., texture: _Optional[_Union[TextureOptions, _Mapping]] = ...) -> None: ...

class End(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("config", "pcm", "controls", "end")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    config: StreamConfig
    pcm: bytes
    controls: Controls
    end: End
    def __init__(self, config: _Optional[_Union[StreamConfig, _Mapping]] = ..., pcm: _Optional[bytes] = ..., controls: _Optional[_Union[Controls, _Mapping]] = ..., end: _Optional[_Union[End, _Mapping]] = ...) -> None: ...

class StreamHeader(_message.Message):
    __slots__ = ("channel_names", "translation_names", "fps", "start_time_unix", "animator", "animator_version", "lookahead_ms", "total_frames", "session_id")
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_NAMES_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_UNIX_FIELD_NUMBER: _ClassVar[int]
    ANIMATOR_FIELD_NUMBER: _ClassVar[int]
    ANIMATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FRAMES_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    translation_names: _containers.RepeatedScalarFieldContainer[str]
    fps: int
    start_time_unix: float
    animator: str
    animator_version: str
    lookahead_ms: float
    total_frames: int
    session_id: str
    def __init__(self, channel_names: _Optional[_Iterable[str]] = ..., translation_names: _Optional[_Iterable[str]] = ..., fps: _Optional[int] = ..., start_time_unix: _Optional[float] = ..., animator: _Optional[str] = ..., animator_version: _Optional[str] = ..., lookahead_ms: _Optional[float] = ..., total_frames: _Optional[int] = ..., session_id: _Optional[str] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("index", "time_code", "values", "head_translation")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    HEAD_TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    index: int
    time_code: float
    values: _containers.RepeatedScalarFieldContainer[float]
    head_translation: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, index: _Optional[int] = ..., time_code: _Optional[float] = ..., values: _Optional[_Iterable[float]] = ..., head_translation: _Optional[_Iterable[float]] = ...) -> None: ...

class FrameBatch(_message.Message):
    __slots__ = ("frames",)
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    def __init__(self, frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ...) -> None: ...

class TextureFrame(_message.Message):
    __slots__ = ("index", "time_code", "encoding", "width", "height", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    time_code: float
    encoding: TextureEncoding
    width: int
    height: int
    data: bytes
    def __init__(self, index: _Optional[int] = ..., time_code: _Optional[float] = ..., encoding: _Optional[_Union[TextureEncoding, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("time_code", "pcm16", "sample_rate")
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    PCM16_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    time_code: float
    pcm16: bytes
    sample_rate: int
    def __init__(self, time_code: _Optional[float] = ..., pcm16: _Optional[bytes] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("name", "time_code", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    time_code: float
    detail: str
    def __init__(self, name: _Optional[str] = ..., time_code: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("code", "message", "frames", "audio_seconds", "compute_seconds")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OK: _ClassVar[Status.Code]
        CANCELLED: _ClassVar[Status.Code]
    OK: Status.Code
    CANCELLED: Status.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    code: Status.Code
    message: str
    frames: int
    audio_seconds: float
    compute_seconds: float
    def __init__(self, code: _Optional[_Union[Status.Code, str]] = ..., message: _Optional[str] = ..., frames: _Optional[int] = ..., audio_seconds: _Optional[float] = ..., compute_seconds: _Optional[float] = ...) -> None: ...

class MotionResponse(_message.Message):
    __slots__ = ("header", "frames", "audio", "event", "status", "texture")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_FIELD_NUMBER: _ClassVar[int]
    header: StreamHeader
    frames: FrameBatch
    audio: AudioChunk
    event: Event
    status: Status
    texture: TextureFrame
    def __init__(self, header: _Optional[_Union[StreamHeader, _Mapping]] = ..., frames: _Optional[_Union[FrameBatch, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., texture: _Optional[_Union[TextureFrame, _Mapping]] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AnimatorInfo(_message.Message):
    __slots__ = ("name", "version", "description", "lookahead_ms", "accepts_text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_MS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTS_TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    description: str
    lookahead_ms: float
    accepts_text: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., lookahead_ms: _Optional[float] = ..., accepts_text: _Optional[bool] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_message_bytes", "max_sessions", "max_audio_seconds", "sample_rates")
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATES_FIELD_NUMBER: _ClassVar[int]
    max_message_bytes: int
    max_sessions: int
    max_audio_seconds: float
    sample_rates: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, max_message_bytes: _Optional[int] = ..., max_sessions: _Optional[int] = ..., max_audio_seconds: _Optional[float] = ..., sample_rates: _Optional[_Iterable[int]] = ...) -> None: ...

class Info(_message.Message):
    __slots__ = ("version", "animators", "default_animator", "providers", "fps_options", "limits", "active_sessions", "emotions", "channel_names", "avatars", "default_live_animator")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ANIMATORS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ANIMATOR_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    FPS_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    EMOTIONS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    AVATARS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LIVE_ANIMATOR_FIELD_NUMBER: _ClassVar[int]
    version: str
    animators: _containers.RepeatedCompositeFieldContainer[AnimatorInfo]
    default_animator: str
    providers: _containers.RepeatedScalarFieldContainer[str]
    fps_options: _containers.RepeatedScalarFieldContainer[int]
    limits: Limits
    active_sessions: int
    emotions: _containers.RepeatedScalarFieldContainer[str]
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    avatars: int
    default_live_animator: str
    def __init__(self, version: _Optional[str] = ..., animators: _Optional[_Iterable[_Union[AnimatorInfo, _Mapping]]] = ..., default_animator: _Optional[str] = ..., providers: _Optional[_Iterable[str]] = ..., fps_options: _Optional[_Iterable[int]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., active_sessions: _Optional[int] = ..., emotions: _Optional[_Iterable[str]] = ..., channel_names: _Optional[_Iterable[str]] = ..., avatars: _Optional[int] = ..., default_live_animator: _Optional[str] = ...) -> None: ...
