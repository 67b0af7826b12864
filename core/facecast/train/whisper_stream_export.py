"""Export Whisper tiny.en's first two layers as one streaming step for live streams
(``python -m facecast.train.whisper_stream_export --out DIR``, writes ``DIR/whisper_tiny_en_stream.onnx``).

The step (:class:`StreamStep`) is :mod:`facecast.whisper_stream`'s contract: per stream, the two newest mel
frames and the state that module keeps (the convolutions' last inputs, each layer's pending query frame and its
ring of ``--history`` keys and values with a mask), and out the new keys, values, pending queries and one state.
The weights are the clip path's encoder's (:mod:`facecast.train.whisper_onnx`). By default (``--weights int8``,
the shipped file) the ten matrix products of the two layers are int8 by ONNX Runtime's *static* quantization: each
product's input has one scale, fixed in the file, calibrated on the repository's two speech clips
(:data:`CALIBRATION`, each also reversed, under noise and 20 dB quieter: :func:`calibration_audio`). Fixed scales
keep every stream's states independent of the streams that share its step (dynamic quantization, which
measures one scale per call, moved a stream's JawOpen by up to 0.08 when a stream beside it fell silent). The two
convolutions stay float32: quantized they cost the most accuracy for the least time. A step for 32 streams
with 100 frames of history took 2.3 ms instead of 3.4 ms (float32) or 4.0 ms (``--weights fp16``: float16
weights, float32 arithmetic, exact), and the head's jaw stays within r 0.997 of float32's (docs/NEURAL.md,
"Faster streams").

``--check WAV ...`` runs the exported file as a stream over those files against :func:`band_states`, the same
encoder in torch (float32) over the whole clip with each layer's attention masked to the same band: per-dimension
r and largest difference (float16 weights: 4e-6). Needs the ``train`` and ``teacher`` extras.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnx
import torch
from torch import nn

from facecast.fileio import atomic_path
from facecast.train.whisper_onnx import (
    OPSET,
    EncoderLayer,
    WhisperEncoder,
    build_encoder,
    default_model_dir,
    load_wav,
    mean_pearson,
    to_float16_weights,
    write_weights,
)
from facecast.whisper_stream import HEADS, LAYERS, STREAM_FILE, StreamEncoder, stream_states, window_starts

DIMS = 384
CALIBRATION = ("assets/speech_en.wav", "assets/speech_de.wav")  # the shipped file's, from the checkout's root
WEIGHTS = ("int8", "fp16", "fp32")
CONVOLUTIONS = ("conv1_w", "conv2_w")  # the products left in float32 by int8 (see the module docstring)
HISTORY = 200  # frames of keys and values each layer keeps: 4 s (docs/NEURAL.md, "Whisper's jaw in streams")
INPUTS = ["mel", "mel_prev", "conv_prev", "position", "query0", "keys0", "values0", "mask0",
          "query1", "keys1", "values1", "mask1"]
OUTPUTS = ["state", "x0", "key0", "value0", "y0", "key1", "value1", "conv"]


class StreamStep(nn.Module):
    """One 20 ms frame of the first two encoder layers for a batch of streams (see :mod:`facecast.whisper_stream`
    for the timing): mel [B, 2, 80] and the kept state in, the next state and layer 1's output out.

    Written for small batches: both convolutions are matrix products on the frames they see (ONNX Runtime's Conv
    took a fifth of the step on inputs three frames long), and each layer's query and key/value projections are
    their own pre-transposed weights (slicing the fused q, k, v matrix in the graph copied it on every call)."""

    def __init__(self, encoder: WhisperEncoder) -> None:
        super().__init__()
        if len(encoder.layers) != LAYERS:
            raise ValueError(f"the stream step has {LAYERS} layers, the encoder {len(encoder.layers)}")
        self.positions = encoder.positions
        # conv weight [out, in, 3] -> [3 * in, out]: row k * in + c multiplies input channel c of the k-th frame
        self.conv1_w, self.conv1_b = (_weight(encoder.conv1.weight.permute(2, 1, 0).reshape(-1, DIMS)),
                                      _weight(encoder.conv1.bias))
        self.conv2_w, self.conv2_b = (_weight(encoder.conv2.weight.permute(2, 1, 0).reshape(-1, DIMS)),
                                      _weight(encoder.conv2.bias))
        self.layers = encoder.layers
        self.q_w = nn.ParameterList(_weight(cast(EncoderLayer, la).qkv.weight[:DIMS].T) for la in self.layers)
        self.q_b = nn.ParameterList(_weight(cast(EncoderLayer, la).qkv.bias[:DIMS]) for la in self.layers)
        self.kv_w = nn.ParameterList(_weight(cast(EncoderLayer, la).qkv.weight[DIMS:].T) for la in self.layers)
        self.kv_b = nn.ParameterList(_weight(cast(EncoderLayer, la).qkv.bias[DIMS:]) for la in self.layers)

    def attend(self, index: int, query: torch.Tensor, new: torch.Tensor, keys: torch.Tensor,
               values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Layer ``index``'s output for the pending frame ``query`` [B, 1, D] (its input), which sees the ring's
        ``keys`` [B, heads, head_dims, H] (transposed) and ``values`` [B, heads, H, head_dims] and the newest
        frame ``new`` [B, 1, D] where ``mask`` [B, H + 1] is 0 (the newest frame last); and the newest frame's key
        [B, heads, head_dims, 1] and value [B, heads, 1, head_dims], as the rings keep them. The ring is read in
        place: its scores and the newest frame's are joined, not its keys."""
        layer = cast(EncoderLayer, self.layers[index])
        history = keys.shape[-1]  # fixed at export; shapes below use -1 for the batch (no shape arithmetic)
        heads, dims = layer.heads, layer.head_dims
        q = (layer.attn_norm(query) @ self.q_w[index] + self.q_b[index]) * layer.scale
        q = q.reshape(-1, heads, 1, dims)  # [B, heads, 1, dims] (one frame: no transpose needed)
        k_new, v_new = (layer.attn_norm(new) @ self.kv_w[index] + self.kv_b[index]).chunk(2, dim=-1)
        k_new = k_new.reshape(-1, heads, dims, 1)
        v_new = v_new.reshape(-1, heads, 1, dims)
        scores = torch.cat([q @ keys, q @ k_new], -1) + mask[:, None, None, :]  # [B, heads, 1, H + 1]
        weights = torch.softmax(scores, dim=-1)
        mixed = weights[..., :history] @ values + weights[..., history:] * v_new  # [B, heads, 1, dims]
        x = query + layer.out(mixed.reshape(-1, 1, DIMS))
        return x + layer.ffn_out(nn.functional.gelu(layer.ffn_in(layer.ffn_norm(x)))), k_new, v_new

    def forward(self, mel: torch.Tensor, mel_prev: torch.Tensor, conv_prev: torch.Tensor, position: torch.Tensor,
                query0: torch.Tensor, keys0: torch.Tensor, values0: torch.Tensor, mask0: torch.Tensor,
                query1: torch.Tensor, keys1: torch.Tensor, values1: torch.Tensor,
                mask1: torch.Tensor) -> tuple[torch.Tensor, ...]:
        frames = torch.cat([mel_prev, mel], 1)  # mel frames 2s - 3 ... 2s: [B, 4, 80]
        seen = torch.cat([frames[:, 0:3].reshape(-1, 1, 240), frames[:, 1:4].reshape(-1, 1, 240)], 1)
        c1 = nn.functional.gelu(seen @ self.conv1_w + self.conv1_b)  # mel frames 2s - 2, 2s - 1: [B, 2, D]
        c2 = torch.cat([conv_prev, c1], 1).reshape(-1, 1, 3 * DIMS)  # conv1 at 2s - 3 ... 2s - 1
        x0 = nn.functional.gelu(c2 @ self.conv2_w + self.conv2_b)  # frame s - 1: [B, 1, D]
        x0 = x0 + self.positions[position][:, None, :]
        y0, key0, value0 = self.attend(0, query0, x0, keys0, values0, mask0)  # frame s - 2
        y1, key1, value1 = self.attend(1, query1, y0, keys1, values1, mask1)  # frame s - 3
        return y1, x0, key0, value0, y0, key1, value1, c1[:, 1:]


def _weight(value: torch.Tensor | None) -> nn.Parameter:
    if value is None:
        raise ValueError("the encoder's convolutions have biases")
    return nn.Parameter(value.detach().contiguous().clone(), requires_grad=False)


def export(out_dir: Path, history: int = HISTORY, weights: str = "int8", model_dir: Path | None = None,
           calibration: Sequence[Path] = ()) -> Path:
    """Write ``out_dir/whisper_tiny_en_stream.onnx`` (``weights``: one of :data:`WEIGHTS`, see the module
    docstring; ``calibration``: the speech files int8's scales are measured on, :data:`CALIBRATION` for the
    shipped file)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
    if weights == "int8" and not calibration:
        raise ValueError("int8 weights need speech to calibrate on (the shipped file: " + " ".join(CALIBRATION) + ")")
    step = StreamStep(build_encoder(model_dir or default_model_dir(), taps=[1]))
    d, heads = DIMS, HEADS
    keys, values = torch.zeros(1, heads, d // heads, history), torch.zeros(1, heads, history, d // heads)
    example = (torch.zeros(1, 2, 80), torch.zeros(1, 2, 80), torch.zeros(1, 1, d), torch.zeros(1, dtype=torch.int64),
               torch.zeros(1, 1, d), keys, values, torch.zeros(1, history + 1), torch.zeros(1, 1, d), keys, values,
               torch.zeros(1, history + 1))
    axes = {name: {0: "batch"} for name in INPUTS + OUTPUTS}
    path = out_dir / STREAM_FILE
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy (TorchScript) exporter's deprecation notice
            torch.onnx.export(step, example, str(plain), input_names=INPUTS, output_names=OUTPUTS,
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        if weights == "int8":
            quantize(plain, path, calibration_audio([load_wav(w) for w in calibration]))
        else:
            write_weights(plain, path, weights)
    return path


def calibration_audio(clips: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The streams int8's scales are measured on: each clip as it is, reversed, under white noise at -40 dBFS
    and 20 dB quieter (a fixed seed: the same file on every machine)."""
    noise = np.random.default_rng(0)
    out = []
    for clip in clips:
        clip = np.asarray(clip, np.float32)
        out += [clip, clip[::-1].copy(), clip + 0.01 * noise.standard_normal(len(clip)).astype(np.float32),
                0.1 * clip]
    return out


class _Recorder:
    """An ONNX Runtime session that keeps a copy of every call's inputs (the calibration's data)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.feeds: list[dict[str, np.ndarray]] = []

    def run(self, names: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.feeds.append({name: np.array(value) for name, value in feeds.items()})
        out: list[np.ndarray] = self.session.run(names, feeds)
        return out


def quantize(plain: Path, path: Path, audio: Sequence[np.ndarray]) -> None:
    """Write the float32 step ``plain`` to ``path`` with its layers' matrix products int8, their inputs' scales
    the extremes seen when ``audio`` runs through it as streams in 20 ms pieces (static quantization: see the
    module docstring)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    encoder = StreamEncoder(plain)
    recorder = _Recorder(encoder.session)
    encoder.session = recorder
    stream_states(encoder, audio, chunk=320)
    model = onnx.load(str(plain))
    weights = {init.name for init in model.graph.initializer}
    products = [node.name for node in model.graph.node if node.op_type == "MatMul"
                and any(i in weights and i not in CONVOLUTIONS for i in node.input)]

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(recorder.feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is for vision models
    try:
        with tempfile.TemporaryDirectory() as tmp, atomic_path(path) as target:
            quantized = Path(tmp) / "int8.onnx"
            quantize_static(str(plain), str(quantized), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            nodes_to_quantize=products, calibrate_method=CalibrationMethod.MinMax)
            # the convolutions and positions stored as float16 (exact: the source is float16)
            onnx.save(to_float16_weights(onnx.load(str(quantized))), target)
    finally:
        logging.getLogger().setLevel(quiet)


def band_states(audio: np.ndarray, history: int, model_dir: Path | None = None) -> np.ndarray:
    """The reference for a stream's states: the torch encoder (float32) over the whole clip, on the mel frames a
    stream computes, its positions restarting where a stream's do (``whisper_stream.window_starts``: after 20 s,
    and where speech starts after a second without) and each layer seeing ``history`` - 1 frames back and one
    ahead within the window."""
    from facecast.whisper_states import STATE_SAMPLES
    from facecast.whisper_stream import StreamingLogMel

    encoder = build_encoder(model_dir or default_model_dir(), taps=[1])
    frames = len(audio) // STATE_SAMPLES
    # the silence a stream's end adds, so that the last frames see the same frame ahead
    streaming = StreamingLogMel()
    mel = streaming.push(np.concatenate([audio, np.zeros(5 * STATE_SAMPLES, np.float32)]))
    n = min(frames + 4, len(mel) // 2)
    spectrogram = torch.from_numpy(np.ascontiguousarray(mel[:2 * n].T))[None]
    frame = torch.arange(n)
    speech = streaming.speech[:2 * n]
    starts = torch.from_numpy(window_starts(speech[0::2] | speech[1::2]))
    key, query = frame[None, :], frame[:, None]
    band = (key - query <= 1) & (key - query > -history) & (starts[None, :] == starts[:, None])
    mask = torch.where(band, 0.0, float("-inf"))
    with torch.no_grad():
        x = nn.functional.gelu(encoder.conv1(spectrogram))
        x = nn.functional.gelu(encoder.conv2(x)).transpose(1, 2)
        x = x + encoder.positions[frame - starts]
        for layer in encoder.layers:
            cast(EncoderLayer, layer).mask = mask
            x = layer(x)
    return x[0, :frames].numpy()


def check(path: Path, wavs: Sequence[Path], model_dir: Path | None = None) -> dict[str, float]:
    """The exported step as a stream against :func:`band_states` on ``wavs`` (see the module docstring)."""
    encoder = StreamEncoder(path)
    audios = [load_wav(w) for w in wavs]
    ours = np.concatenate(stream_states(encoder, audios, chunk=320))
    reference = np.concatenate([band_states(a, encoder.history, model_dir) for a in audios])
    return {"frames": len(ours), "mean_r": mean_pearson(ours, reference),
            "max_abs_diff": float(np.abs(ours - reference).max()), "ref_abs_mean": float(np.abs(reference).mean())}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.whisper_stream_export",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help=f"folder to write {STREAM_FILE} into")
    p.add_argument("--history", type=int, default=HISTORY, help=f"frames each layer keeps (default {HISTORY})")
    p.add_argument("--weights", choices=WEIGHTS, default="int8",
                   help="int8 (default, the shipped file: static quantization), fp16 (float16 weights, exact) or fp32")
    p.add_argument("--calibration", type=Path, nargs="+", default=[Path(c) for c in CALIBRATION], metavar="WAV",
                   help="int8: the speech its scales are measured on (default: the repository's two clips, "
                        "relative to the checkout's root, where the command runs)")
    p.add_argument("--model-dir", type=Path, default=None)
    p.add_argument("--check", type=Path, nargs="*", default=None, metavar="WAV")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    path = export(args.out, args.history, args.weights, args.model_dir, args.calibration)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    if args.check:
        print(json.dumps(check(path, args.check, args.model_dir), indent=1))


if __name__ == "__main__":
    main()
