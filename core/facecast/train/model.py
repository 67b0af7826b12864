"""The learned audio-to-motion model, in one file (PyTorch; exported to ONNX for the runtime).

    features [B, T, 160] (facecast.features: causal log-mel, 50 frames/s)
      -> Encoder: 1x1 conv, then residual blocks of dilated kernel-3 convolutions without padding
         (most causal, LOOKAHEAD of them centred: one frame of right context each)     -> h [B, C, T - R - L]
      -> mouth head (1x1 conv): the 52 blendshapes + a lip-closure logit, deterministic   (regression)
      -> motion head: a conditional flow-matching velocity field over the sampled channels (head rotation and
         translation, brows, lids), integrated from seeded noise in FLOW_STEPS Euler steps, with
         classifier-free guidance on the condition (the head-motion level)                 (sampling)

Everything is framewise after the encoder and the encoder has no normalisation across time, so output frame t
depends only on input frames t - R .. t + L: a stream that keeps the last R + L frames computes exactly what a
whole clip computes. ``Sampler`` runs a whole window (training, evaluation); ``StreamSampler`` is the exported
graph: the same arithmetic as matrix products on channels-last frames, carrying each block's last 2 x dilation
input frames as a state, so a stream computes each frame once (a window would recompute R + L frames for every new
one), with outputs L frames behind the input.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from facecast.features import FEATURES, STACK, RunningNorm
from facecast.motion import BLENDSHAPES, NUM_BLENDSHAPES

# Channels the motion head samples (the rest of the 61 come from the mouth head or the procedural layers).
SAMPLED = ("HeadYaw", "HeadPitch", "HeadRoll", "TranslationX", "TranslationY", "TranslationZ",
           "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
           "EyeSquintLeft", "EyeSquintRight", "EyeWideLeft", "EyeWideRight",
           "EyeLookDownLeft", "EyeLookDownRight", "EyeLookUpLeft", "EyeLookUpRight",
           "EyeLookInLeft", "EyeLookInRight", "EyeLookOutLeft", "EyeLookOutRight")
MOUTH_OUT = NUM_BLENDSHAPES + 1  # + closure logit
COND_DIMS = 2  # (log head-motion level, "condition present" flag); zeros = unconditional


@dataclass
class ModelConfig:
    width: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8, 1)
    centred: tuple[int, ...] = (0, 4, 8)  # blocks with one frame of right context
    # Each block's frames of right context instead (0 .. 2 x its dilation); empty: ``centred``'s. A block with as
    # much right context as its dilation is symmetric; all of them make a whole-clip model (lookahead 0.62 s).
    rights: tuple[int, ...] = ()
    flow_width: int = 128
    flow_steps: int = 4
    motion_dims: int = len(SAMPLED)
    sampled: tuple[str, ...] = field(default=SAMPLED)
    lifter: int = 0  # cepstral coefficients of each log-mel frame the encoder sees (0: the whole log-mel)
    norm: RunningNorm | None = None  # causal per-band standardisation of the log-mel (None: fixed constants)

    def __post_init__(self) -> None:
        if self.rights and (len(self.rights) != len(self.dilations)
                            or any(not 0 <= r <= 2 * d for r, d in zip(self.rights, self.dilations))):
            raise ValueError(f"rights {self.rights} must give each of the {len(self.dilations)} blocks 0 to 2 x "
                             f"its dilation {self.dilations} frames of right context")

    def right_context(self) -> tuple[int, ...]:
        """Each block's frames of right context."""
        if self.rights:
            return tuple(self.rights)
        return tuple(1 if i in self.centred else 0 for i in range(len(self.dilations)))

    @property
    def lookahead(self) -> int:
        """Frames of right context."""
        return sum(self.right_context())

    @property
    def history(self) -> int:
        """Frames of left context."""
        return sum(2 * d - r for d, r in zip(self.dilations, self.right_context()))

    def to_dict(self) -> dict:
        return {**asdict(self), "lookahead": self.lookahead, "history": self.history}


def lifter_matrix(keep: int) -> torch.Tensor:
    """The fixed linear map [FEATURES, FEATURES] that keeps the ``keep`` lowest cepstral coefficients (DCT-II over
    the mel bands) of each stacked log-mel frame: the spectral envelope without the pitch harmonics.

    Why: a log-mel frame is the vocal tract's envelope plus the voice's harmonics. The mouth shapes the envelope;
    the harmonics follow pitch. With one dominant speaker in the data an encoder learns that speaker's harmonics
    as cues, and a higher voice, or singing, then reads as the wrong mouth. ``keep`` = 0 is the identity."""
    if keep <= 0:
        return torch.eye(FEATURES)
    bands = FEATURES // STACK
    n = torch.arange(bands, dtype=torch.float64)
    dct = torch.cos(math.pi / bands * (n[None, :] + 0.5) * n[:, None]) * math.sqrt(2.0 / bands)
    dct[0] /= math.sqrt(2.0)  # orthonormal DCT-II: rows are coefficients, columns bands
    low = dct[:keep]
    block = low.t() @ low  # project onto the low coefficients and back to bands
    return torch.block_diag(*[block] * STACK).float()


def rms_norm(x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """Normalise each frame over channels ([B, C, T]): framewise, so it keeps streaming exact."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-5) * gain[None, :, None]


class Block(nn.Module):
    """x + mix(gelu(conv(norm(x)))), a kernel-3 convolution with ``dilation`` and no padding: the output is
    2 * dilation frames shorter, aligned so it uses ``right`` frames of right context."""

    def __init__(self, width: int, dilation: int, right: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(width))
        self.conv = nn.Conv1d(width, width, 3, dilation=dilation)
        self.mix = nn.Conv1d(width, width, 1)
        nn.init.zeros_(self.mix.weight)
        nn.init.zeros_(self.mix.bias)  # type: ignore[arg-type]
        self.left, self.right = 2 * dilation - right, right

    @property
    def span(self) -> int:
        """Input frames before the newest that the kernel reads: the block's streaming state."""
        return self.left + self.right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mix(F.gelu(self.conv(rms_norm(x, self.gain))))
        end = x.shape[2] - self.right
        return x[:, :, self.left:end] + y


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.inp = nn.Conv1d(FEATURES, cfg.width, 1)
        self.lift: torch.Tensor
        self.register_buffer("lift", lifter_matrix(cfg.lifter), persistent=False)
        self.lifted = cfg.lifter > 0
        blocks = [Block(cfg.width, d, r) for d, r in zip(cfg.dilations, cfg.right_context())]
        self.blocks = nn.ModuleList(blocks)
        self.spans = [block.span for block in blocks]
        self.gain = nn.Parameter(torch.ones(cfg.width))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[B, T, FEATURES] -> [B, C, T - history - lookahead]."""
        x = F.conv1d(features.transpose(1, 2), self.input_weight()[:, :, None], self.inp.bias)
        for block in self.blocks:
            x = block(x)
        return rms_norm(x, self.gain)

    def input_weight(self) -> torch.Tensor:
        """The input layer's weight [C, FEATURES], with the fixed lifter folded in (the ONNX graph holds the
        product as one constant, so the lifter costs nothing at run time)."""
        weight = self.inp.weight[:, :, 0]
        return weight @ self.lift if self.lifted else weight

    @property
    def state_frames(self) -> int:
        return sum(self.spans)


class FlowHead(nn.Module):
    """Velocity v(x_s, s | h, cond) of a rectified flow from noise (s = 0) to motion (s = 1), framewise."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.context = nn.Conv1d(cfg.width, cfg.flow_width, 1)
        self.cond = nn.Linear(COND_DIMS, cfg.flow_width)
        self.time = nn.Linear(16, cfg.flow_width)
        self.inp = nn.Conv1d(cfg.motion_dims, cfg.flow_width, 1)
        self.hidden = nn.Conv1d(cfg.flow_width, cfg.flow_width, 1)
        self.out = nn.Conv1d(cfg.flow_width, cfg.motion_dims, 1)
        self.freqs: torch.Tensor
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(100.0), 8)))

    def velocity(self, x: torch.Tensor, s: torch.Tensor, context: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x [B, D, T], s [B] in [0, 1], context [B, F, T] (from :meth:`prepare`), cond [B, COND_DIMS]."""
        angles = s[:, None] * self.freqs[None, :]
        t_emb = self.time(torch.cat([torch.sin(angles), torch.cos(angles)], 1))
        y = F.gelu(self.inp(x) + context + (self.cond(cond) + t_emb)[:, :, None])
        return self.out(F.gelu(self.hidden(y)))

    def prepare(self, h: torch.Tensor) -> torch.Tensor:
        return self.context(h)


class Model(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.mouth = nn.Conv1d(cfg.width, MOUTH_OUT, 1)
        self.flow = FlowHead(cfg)
        # Per-channel mean and spread of the sampled channels (set from the training data): the flow works in
        # normalised units.
        self.motion_mean: torch.Tensor
        self.motion_std: torch.Tensor
        self.register_buffer("motion_mean", torch.zeros(cfg.motion_dims))
        self.register_buffer("motion_std", torch.ones(cfg.motion_dims))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states [B, C, T'] and mouth output [B, MOUTH_OUT, T']."""
        h = self.encoder(features)
        return h, self.mouth(h)

    def flow_loss(self, h: torch.Tensor, motion: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Conditional flow matching: motion [B, D, T'] (real units), cond [B, COND_DIMS] (zeros = dropped)."""
        x1 = (motion - self.motion_mean[None, :, None]) / self.motion_std[None, :, None]
        x0 = torch.randn_like(x1)
        s = torch.rand(x1.shape[0], device=x1.device)
        xs = (1 - s[:, None, None]) * x0 + s[:, None, None] * x1
        v = self.flow.velocity(xs, s, self.flow.prepare(h), cond)
        return F.mse_loss(v, x1 - x0)

    def sample(self, h: torch.Tensor, noise: torch.Tensor, cond: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        """Integrate the flow from ``noise`` [B, D, T'] with guidance ``w`` [B]: v = v_u + w (v_c - v_u)."""
        context = self.flow.prepare(h)
        x = noise
        uncond = torch.zeros_like(cond)
        steps = self.cfg.flow_steps
        w = guidance[:, None, None]
        for k in range(steps):
            s = torch.full((x.shape[0],), k / steps, device=x.device)
            v_c = self.flow.velocity(x, s, context, cond)
            v_u = self.flow.velocity(x, s, context, uncond)
            x = x + (v_u + w * (v_c - v_u)) / steps
        return x * self.motion_std[None, :, None] + self.motion_mean[None, :, None]


class Sampler(nn.Module):
    """The exported graph: features [B, T, 160], noise [B, T', D], cond [B, 2], guidance [B]
    -> mouth [B, T', 53] (52 blendshapes + closure logit), motion [B, T', D]; T' = T - history - lookahead."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, noise: torch.Tensor, cond: torch.Tensor,
                guidance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, mouth = self.model(features)
        motion = self.model.sample(h, noise.transpose(1, 2), cond, guidance)
        return mouth.transpose(1, 2), motion.transpose(1, 2)


def pointwise(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """A 1x1 convolution applied to channels-last frames [B, n, C_in] -> [B, n, C_out], as one matrix product."""
    return torch.matmul(x, conv.weight[:, :, 0].t()) + conv.bias  # type: ignore[operator]


def rms_norm_last(x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """:func:`rms_norm` for channels-last frames [B, n, C]."""
    return x * torch.rsqrt(x.pow(2).mean(dim=2, keepdim=True) + 1e-5) * gain


class StreamSampler(nn.Module):
    """The exported graph: :class:`Sampler`'s arithmetic on the newest frames only, with the encoder's state carried
    between calls. features [B, n, 160], noise [B, n, D], cond [B, 2], guidance [B], state [B, S, C] (each block's
    last 2 x dilation inputs, in block order) -> mouth [B, n, 53], motion [B, n, D], state; output k belongs to
    input frame k - lookahead (a stream starts from the state of silence and discards its first ``lookahead``
    outputs). Frames are channels-last and every layer is a matrix product, so many streams of a few frames each
    make one product per layer rather than one small convolution per stream."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model

    def encode(self, features: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        encoder = self.model.encoder
        x = torch.matmul(features, encoder.input_weight().t()) + encoder.inp.bias  # type: ignore[operator]
        kept, at = [], 0
        for block, span in zip(encoder.blocks, encoder.spans):
            assert isinstance(block, Block)
            joined = torch.cat([state[:, at:at + span], x], 1)
            kept.append(joined[:, joined.shape[1] - span:])
            n = x.shape[1]
            normed = rms_norm_last(joined, block.gain)
            d = int(block.conv.dilation[0])
            bias = block.conv.bias
            assert bias is not None
            taps = [torch.matmul(normed[:, k * d:k * d + n], block.conv.weight[:, :, k].t()) for k in range(3)]
            y = pointwise(F.gelu(taps[0] + taps[1] + taps[2] + bias), block.mix)
            x = joined[:, block.left:block.left + n] + y
            at += span
        return rms_norm_last(x, encoder.gain), torch.cat(kept, 1)

    def velocity(self, x: torch.Tensor, s: float, context: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        flow = self.model.flow
        angles = s * flow.freqs
        t_emb = flow.time(torch.cat([torch.sin(angles), torch.cos(angles)]))
        y = F.gelu(pointwise(x, flow.inp) + context + (flow.cond(cond) + t_emb)[:, None, :])
        return pointwise(F.gelu(pointwise(y, flow.hidden)), flow.out)

    def forward(self, features: torch.Tensor, noise: torch.Tensor, cond: torch.Tensor, guidance: torch.Tensor,
                state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        model = self.model
        h, state = self.encode(features, state)
        mouth = pointwise(h, model.mouth)
        context = pointwise(h, model.flow.context)
        x, uncond, steps = noise, torch.zeros_like(cond), model.cfg.flow_steps
        w = guidance[:, None, None]
        for k in range(steps):  # as Model.sample
            v_c = self.velocity(x, k / steps, context, cond)
            v_u = self.velocity(x, k / steps, context, uncond)
            x = x + (v_u + w * (v_c - v_u)) / steps
        return mouth, x * model.motion_std + model.motion_mean, state


BLENDSHAPE_NAMES = BLENDSHAPES
