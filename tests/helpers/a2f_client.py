"""A client built from NVIDIA's published Audio2Face-3D protos (PyPI ``nvidia-audio2face-3d``/``nvidia-ace``).

It runs in the separate ``.venv-a2f`` (those wheels pin grpcio <= 1.67.1) and only uses the standard library
besides them, so it is what an existing ACE client sends and sees:

    a2f_client.py describe            # the shape of NVIDIA's messages and services (proto_shape.py)
    a2f_client.py run HOST:PORT       # play the scenario on stdin, print the conversation as JSON

A scenario is ``{"messages": [...]}``, each message one of ``{"header": {...}}``, ``{"audio": {"wav": path,
"start": s, "end": s, "emotions": [{"time_code": t, "emotion": {...}}]}}``, ``{"raw_audio": {"bytes": n}}``
or ``{"end": {}}``; ``"half_close": false`` keeps the request stream open as NVIDIA's sample client does;
``"token"`` is sent as ``authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import wave

import grpc
from nvidia_ace import animation_pb2, audio_pb2, status_pb2
from nvidia_audio2face_3d import audio2face_pb2, audio2face_pb2_grpc, messages_pb2
from proto_shape import describe


def header_message(spec: dict) -> messages_pb2.AudioWithEmotionStream:
    post = messages_pb2.EmotionPostProcessingParameters(**spec.get("post", {}))
    return messages_pb2.AudioWithEmotionStream(audio_stream_header=messages_pb2.AudioWithEmotionStreamHeader(
        audio_header=audio_pb2.AudioHeader(
            audio_format=audio_pb2.AudioHeader.AUDIO_FORMAT_PCM, channel_count=spec.get("channel_count", 1),
            samples_per_second=spec.get("samples_per_second", 16000), bits_per_sample=spec.get("bits_per_sample", 16)),
        face_params=messages_pb2.FaceParameters(float_params=spec.get("face_params", {}),
                                                integer_params=spec.get("integer_params", {})),
        emotion_post_processing_params=post,
        blendshape_params=messages_pb2.BlendShapeParameters(
            bs_weight_multipliers=spec.get("multipliers", {}), bs_weight_offsets=spec.get("offsets", {}),
            enable_clamping_bs_weight=spec.get("clamp", False)),
        emotion_params=messages_pb2.EmotionParameters(beginning_emotion=spec.get("beginning_emotion", {}))))


def read_pcm(path: str, start: float, end: float | None) -> bytes:
    with wave.open(path) as wav:
        rate, width = wav.getframerate(), wav.getsampwidth() * wav.getnchannels()
        wav.setpos(int(start * rate))
        count = (int(end * rate) if end is not None else wav.getnframes()) - int(start * rate)
        return wav.readframes(count)[:count * width]


def request_messages(scenario: dict) -> list[messages_pb2.AudioWithEmotionStream]:
    messages = []
    for item in scenario["messages"]:
        (kind, spec), = item.items()
        if kind == "header":
            messages.append(header_message(spec))
        elif kind in ("audio", "raw_audio"):
            pcm = read_pcm(spec["wav"], spec.get("start", 0.0), spec.get("end")) if kind == "audio" \
                else bytes(spec["bytes"])
            emotions = [messages_pb2.EmotionWithTimeCode(time_code=e["time_code"], emotion=e["emotion"])
                        for e in spec.get("emotions", [])]
            messages.append(messages_pb2.AudioWithEmotionStream(
                audio_with_emotion=messages_pb2.AudioWithEmotion(audio_buffer=pcm, emotions=emotions)))
        elif kind == "end":
            messages.append(messages_pb2.AudioWithEmotionStream(
                end_of_audio=messages_pb2.AudioWithEmotionStream.EndOfAudio()))
        else:
            raise SystemExit(f"unknown scenario message {kind!r}")
    return messages


def summarize(message: messages_pb2.A2F3DAnimationDataStream) -> dict:
    part = message.WhichOneof("stream_part")
    if part == "animation_data_stream_header":
        header = message.animation_data_stream_header
        audio = header.audio_header
        return {"header": {"blend_shapes": list(header.skel_animation_header.blend_shapes),
                           "start_time_code_since_epoch": header.start_time_code_since_epoch,
                           "samples_per_second": audio.samples_per_second, "channel_count": audio.channel_count,
                           "bits_per_sample": audio.bits_per_sample}}
    if part == "animation_data":
        data = message.animation_data
        frame = {"weights": [[w.time_code, list(w.values)] for w in data.skel_animation.blend_shape_weights]}
        if data.HasField("audio"):
            frame["audio"] = [data.audio.time_code, data.audio.audio_buffer.hex()]
        if "emotion_aggregate" in data.metadata:
            metadata = data.metadata["emotion_aggregate"]
            aggregate = messages_pb2.EmotionAggregate.FromString(metadata.value)  # its type URL: see the test
            frame["emotion_aggregate_type"] = metadata.type_url
            frame["emotion_aggregate"] = {
                field: [[e.time_code, dict(e.emotion)] for e in getattr(aggregate, field)]
                for field in ("input_emotions", "a2e_output", "a2f_smoothed_output")}
        return {"animation_data": frame}
    if part == "event":
        return {"event": messages_pb2.EventType.Name(message.event.event_type)}
    return {"status": [status_pb2.Status.Code.Name(message.status.code), message.status.message]}


async def run(address: str, scenario: dict) -> dict:
    messages = request_messages(scenario)
    sent = hashlib.sha256(b"".join(m.audio_with_emotion.audio_buffer for m in messages)).hexdigest()
    responses: list[dict] = []
    async with grpc.aio.insecure_channel(address) as channel:
        token = scenario.get("token")  # sent the way NVIDIA's clients send their API key
        metadata = (("authorization", f"Bearer {token}"),) if token else None
        call = audio2face_pb2_grpc.A2FControllerServiceStub(channel).ProcessAudioStream(metadata=metadata)

        async def write() -> None:  # concurrently with reading, as NVIDIA's sample client does
            for message in messages:
                await call.write(message)
            if scenario.get("half_close", True):
                await call.done_writing()

        writer = asyncio.create_task(write())
        try:
            while (message := await call.read()) != grpc.aio.EOF:
                responses.append(summarize(message))
        except grpc.aio.AioRpcError:
            pass  # the final code and details are reported below
        await asyncio.gather(writer, return_exceptions=True)  # writes fail once the server has ended the call
        code, details = await call.code(), await call.details()
    return {"responses": responses, "code": code.name, "details": details, "sent_sha256": sent}


if __name__ == "__main__":
    if sys.argv[1:2] == ["describe"]:
        print(json.dumps(describe((audio_pb2, animation_pb2, status_pb2, messages_pb2, audio2face_pb2))))
    elif sys.argv[1:2] == ["run"] and len(sys.argv) == 3:
        print(json.dumps(asyncio.run(run(sys.argv[2], json.load(sys.stdin)))))
    else:
        raise SystemExit(__doc__)
