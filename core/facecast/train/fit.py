"""Training the learned animator, top to bottom: ``python -m facecast.train --data DIR --out DIR``.

1. Load the dataset (``facecast dataset build``): every used clip's 16 kHz audio and captured curves, resampled to
   the model's 50 frames per second. Clips of the ``--holdout-source`` (leave-one-source-out) or, without one, of
   the manifest's validation speakers are kept for evaluation. With ``--corpus`` (``facecast corpus build``), the
   synthetic corpus's training voices join them: many TTS voices and languages with exact phone timings, whose
   targets are the phonetic teacher's JawOpen and exact /p b m/ closures (no other shapes, no head motion: those
   losses skip them); ``--corpus-share`` sets their share of each epoch's windows.
2. Each epoch, every training clip is augmented afresh (noise, reverberation, codecs, music bed, rate), turned into
   features, padded with silence for the model's context, and cut into ``--crop`` frame windows.
3. Loss = mouth regression (MSE on the blendshapes the mouth head owns) + (1 - Pearson r) of JawOpen per window
   against ``--r-target``: the captured JawOpen, or the measured lip gap (the mouth opening itself)
   + lip-closure cross-entropy where phone timings give closures + flow matching on the sampled channels, whose
   condition (the clip's head-motion level) is dropped ``COND_DROP`` of the time for classifier-free guidance.
   With ``--teacher`` (``python -m facecast.train.teacher``), an auxiliary 1x1 head on the encoder states also
   regresses the PCA-reduced Whisper encoder states of the same frames (``--teacher-weight``); the head is
   training-only and is not exported.
4. After each epoch: mean JawOpen r on the held-out clips; ``checkpoint.pt`` (resume with ``--resume``) and
   ``best.pt``. Runs on CPU or CUDA, alone or under ``torchrun`` (DDP: gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from facecast.audio import MODEL_RATE
from facecast.errors import InvalidInput
from facecast.features import FRAME_S, FRAME_SAMPLES, RunningNorm, speech_statistics, standardised_frames
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_BLENDSHAPES
from facecast.train.dataset import lip_gaps, loudness
from facecast.train.model import SAMPLED, Model, ModelConfig
from facecast.train.options import add_arguments
from facecast.train.speech_augment import change_rate, degrade, mask_bands, warp_vocal_tract

COND_DROP = 0.2
HELD_EVAL_CLIPS = 60  # clips of a held-out source scored after each epoch
JAW = CHANNEL_INDEX["JawOpen"]
BLINKS = (CHANNEL_INDEX["EyeBlinkLeft"], CHANNEL_INDEX["EyeBlinkRight"])
# Mouth-head loss weight per blendshape: the sampled channels and blinks belong to other layers.
MOUTH_WEIGHTS = np.array([0.0 if name in SAMPLED or i in BLINKS else (1.0 if name.startswith(("Mouth", "Jaw", "Cheek"))
                          else 0.5) for i, name in enumerate(BLENDSHAPES)], np.float32)


MOTION = slice(NUM_BLENDSHAPES, NUM_BLENDSHAPES + len(SAMPLED))  # the sampled channels' target columns
OPENING = NUM_BLENDSHAPES + len(SAMPLED)  # the measured lip gap's column (JawOpen where a dataset has none)
CLOSURE = OPENING + 1  # the /p b m/ closure column (NaN where unknown)


@dataclass
class Clip:
    id: str
    source: str
    speaker: str
    audio: np.ndarray  # float32, 16 kHz
    targets: np.ndarray  # [T, 52 blendshapes + D sampled + lip gap + closure (NaN unknown)] at 50 frames/s
    level: float = 0.0  # log head-motion level relative to the training median
    teacher: np.ndarray | None = None  # [T, dims] reduced Whisper states at 50 frames/s, or None


def sampled_columns(values: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """The sampled channels [T, D] from curves [T, 61] and head translation [T, 3]."""
    columns = []
    for name in SAMPLED:
        if name.startswith("Translation"):
            columns.append(translation[:, "XYZ".index(name[-1])])
        else:
            columns.append(values[:, CHANNEL_INDEX[name]])
    return np.stack(columns, 1)


def at_model_frames(curves: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """Curves [T, K] at ``fps`` resampled to ``frames`` model frames (50 per second), linearly, the last value
    held past their end."""
    src = np.arange(len(curves)) / fps
    dst = np.minimum(np.arange(frames) * FRAME_S, src[-1])
    return np.stack([np.interp(dst, src, curves[:, c]) for c in range(curves.shape[1])], 1)


def load_clips(data_dir: Path) -> tuple[list[Clip], dict[str, Any]]:
    """Every used clip of a dataset folder with targets at 50 frames per second."""
    manifest = json.loads((data_dir / "manifest.json").read_text())
    entries = {e["id"]: e for e in manifest["clips"]}
    clips = []
    with np.load(data_dir / "examples.npz", allow_pickle=False) as data:
        audio_all, values_all = data["audio"], data["values"]
        translation_all, closure_all = data["translation"], data["closure"]
        opening_all = lip_gaps(data)
        for clip_id, (a0, an, v0, vn, fps) in zip(data["ids"], data["index"]):
            audio = audio_all[a0:a0 + an].astype(np.float32) / 32767.0
            curves = np.concatenate([values_all[v0:v0 + vn, :NUM_BLENDSHAPES],
                                     sampled_columns(values_all[v0:v0 + vn], translation_all[v0:v0 + vn]),
                                     opening_all[v0:v0 + vn, None], closure_all[v0:v0 + vn, None]], 1)
            targets = at_model_frames(curves, float(fps), len(audio) // FRAME_SAMPLES)
            entry = entries[str(clip_id)]
            clips.append(Clip(str(clip_id), entry["source"], entry["speaker"], audio, targets.astype(np.float32)))
    return clips, manifest


def corpus_clips(corpus_dir: Path) -> list[Clip]:
    """The corpus's training-voice items as clips (pairs of items back to back, so most fill a window): the
    teacher's JawOpen, closures from the exact phones; the other shapes and head motion unknown (NaN)."""
    from facecast.phonemes.inventory import BILABIALS
    from facecast.train.corpus import concatenate_items, load_items, load_manifest

    manifest = load_manifest(corpus_dir)
    entries = [e for e in manifest["items"] if e["split"] == "train"]
    fps = float(manifest["fps"])
    loaded = load_items(corpus_dir, entries)
    clips = []
    for k in range(0, len(entries) - 1, 2):
        item = concatenate_items(loaded[k:k + 2])
        frames = len(item.audio) // FRAME_SAMPLES
        # Only the jaw: the teacher's other shapes are procedural (many never move, left and right are the same),
        # and training on them made the learned face stiffer (38 of 52 shapes moving instead of 50).
        shapes = np.full((frames, NUM_BLENDSHAPES), np.nan, np.float32)
        shapes[:, JAW] = at_model_frames(item.motion[:, JAW:JAW + 1], fps, frames)[:, 0]
        closure = np.zeros(frames, np.float32)
        for phone in item.phones:
            if phone.symbol in BILABIALS:
                closure[int(np.floor(phone.start / FRAME_S)):int(np.ceil(phone.end / FRAME_S))] = 1.0
        targets = np.concatenate([shapes, np.full((frames, len(SAMPLED)), np.nan), shapes[:, JAW:JAW + 1],
                                  closure[:, None]], 1)
        voices = "+".join(sorted({e["voice"] for e in entries[k:k + 2]}))
        clips.append(Clip(f"corpus/{entries[k]['id']}", "corpus", voices, item.audio.astype(np.float32),
                          targets.astype(np.float32)))
    if not clips:
        raise InvalidInput(f"{corpus_dir} has fewer than two items from training voices; build a larger corpus")
    return clips


def head_levels(clips: list[Clip], reference: list[Clip]) -> None:
    """Set each clip's head-motion level: log of its head-rotation spread over the reference clips' median."""
    def spread(c: Clip) -> float:
        return float(c.targets[:, MOTION][:, :3].std(0).mean()) + 1e-4

    median = float(np.median([spread(c) for c in reference]))
    for c in clips:
        c.level = float(np.clip(np.log(spread(c) / median), -2.0, 2.0))


class TrainingGraph(nn.Module):
    """What DDP wraps: one forward computes every loss term."""

    def __init__(self, model: Model, teacher_dims: int = 0, teacher_weight: float = 0.0,
                 r_target: str = "jawopen", teacher_kind: str = "states") -> None:
        super().__init__()
        self.teacher_kind = teacher_kind
        self.model = model
        self.r_column = OPENING if r_target == "opening" else JAW
        self.teacher_weight = teacher_weight
        self.teacher_head = nn.Conv1d(model.cfg.width, teacher_dims, 1) if teacher_dims else None

    def forward(self, features: torch.Tensor, targets: torch.Tensor, cond: torch.Tensor,
                weights: torch.Tensor, teacher: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """``teacher`` [B, T', dims]: the reduced Whisper states (rows of NaN where a window has none)."""
        h, mouth = self.model(features)
        shapes = targets[:, :, :NUM_BLENDSHAPES].transpose(1, 2)
        motion = targets[:, :, MOTION].transpose(1, 2)
        closure = targets[:, :, CLOSURE]
        pred = mouth[:, :NUM_BLENDSHAPES]
        error = torch.where(torch.isfinite(shapes), pred - shapes, 0.0)  # a corpus window knows only the jaw
        mse = (error ** 2 * weights[None, :, None]).mean() * 10
        corr = 1 - pearson(pred[:, JAW], targets[:, :, self.r_column])
        known = torch.isfinite(closure)
        close = (F.binary_cross_entropy_with_logits(mouth[:, -1][known], closure[known])
                 if bool(known.any()) else mouth.sum() * 0)
        known_motion = torch.isfinite(motion[:, 0, 0])  # corpus windows have no head motion
        flow = (self.model.flow_loss(h[known_motion], motion[known_motion], cond[known_motion])
                if bool(known_motion.any()) else h.sum() * 0)
        loss = mse + 0.5 * corr + 0.2 * close + flow
        parts = {"mse": mse, "corr": corr, "closure": close, "flow": flow}
        if self.teacher_head is not None and teacher is not None:
            aux = teacher_loss(self.teacher_head(h).transpose(1, 2), teacher, self.teacher_kind)
            loss = loss + self.teacher_weight * aux
            parts["teacher"] = aux
        return loss, {k: float(v.detach()) for k, v in parts.items()}


def teacher_loss(pred: torch.Tensor, teacher: torch.Tensor, kind: str = "states") -> torch.Tensor:
    """Over the frames whose teacher is known, of predictions and teacher rows [B, T, dims]: the MSE for
    ``states`` (Whisper's), the cross-entropy for ``classes`` (rows that are class probabilities, such as
    recognised phones, soft where a rate change blends two)."""
    known = torch.isfinite(teacher[..., 0])
    if not bool(known.any()):
        return pred.sum() * 0
    if kind == "classes":
        return -(teacher[known] * F.log_softmax(pred[known], dim=-1)).sum(-1).mean()
    return F.mse_loss(pred[known], teacher[known])


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean Pearson r over rows of [B, T] tensors (rows where the target is flat count as 0)."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-6)
    return r.mean()


def clip_features(audio: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Features [history + T + lookahead, F]: the clip's frames with silence around them, as the runtime sees."""
    return standardised_frames(audio, cfg.norm, cfg.history, cfg.lookahead)


Crop = tuple[np.ndarray, np.ndarray, float, np.ndarray | None]


@dataclass(frozen=True)
class WindowAugment:
    """How training windows are augmented beyond :func:`degrade` and the rate change: ``room`` adds room noise
    and hum, ``vtlp`` warps the frequency axis by up to exp(±vtlp), ``band_masks`` mel-band runs are masked."""

    room: bool = False
    vtlp: float = 0.0
    band_masks: int = 0


def make_crops(clip: Clip, cfg: ModelConfig, crop: int, rng: np.random.Generator, augment: bool,
               how: WindowAugment = WindowAugment()) -> list[Crop]:
    """(features [history + crop + lookahead, F], targets [crop, K], level, teacher [crop, dims] or None)
    windows covering one clip; a rate change stretches the teacher states with the targets."""
    audio, targets = clip.audio, clip.targets
    width = targets.shape[1]
    if clip.teacher is not None:
        n = min(len(targets), len(clip.teacher))
        targets = np.concatenate([targets[:n], clip.teacher[:n]], 1)
    if augment:
        if rng.random() < 0.3:
            audio, targets = change_rate(audio, targets, float(rng.uniform(0.88, 1.12)))
        audio = degrade(audio, rng, room=how.room)
    teacher = targets[:, width:] if clip.teacher is not None else None
    targets = targets[:, :width]
    features = clip_features(audio, cfg)
    if augment and how.vtlp > 0:
        features = warp_vocal_tract(features, float(np.exp(rng.uniform(-how.vtlp, how.vtlp))))
    if augment and how.band_masks:
        features = mask_bands(features, rng, how.band_masks)
    frames = min(len(features) - cfg.history - cfg.lookahead, len(targets))
    if frames < crop:
        return []
    count = max(1, round(frames / crop))
    starts = rng.integers(0, frames - crop + 1, count) if augment else np.linspace(0, frames - crop, count).astype(int)
    return [(features[s:s + crop + cfg.history + cfg.lookahead], targets[s:s + crop], clip.level,
             None if teacher is None else teacher[s:s + crop]) for s in starts]


def source_shares(clips: list[Clip], power: float) -> dict[str, float]:
    """Each source's share of an epoch's windows: proportional to its minutes to the power ``power``
    (1: as the data has them, 0.5: square-root sampling, 0: every source alike)."""
    minutes: dict[str, float] = {}
    for c in clips:
        minutes[c.source] = minutes.get(c.source, 0.0) + len(c.targets)
    weights = {k: v ** power for k, v in minutes.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def epoch_crops(clips: list[Clip], cfg: ModelConfig, crop: int, rng: np.random.Generator,
                power: float = 1.0, how: WindowAugment = WindowAugment()) -> list[Crop]:
    """One epoch's augmented windows; with ``power`` < 1 small sources are re-augmented and repeated and large
    ones subsampled to their :func:`source_shares`, keeping the number of windows (and steps) the same."""
    if power == 1.0:
        return [w for c in clips for w in make_crops(c, cfg, crop, rng, augment=True, how=how)]
    by_source: dict[str, list[Clip]] = {}
    for c in clips:
        by_source.setdefault(c.source, []).append(c)
    total = sum(max(1, len(c.targets) // crop) for c in clips)
    chosen: list[Crop] = []
    for source, share in source_shares(clips, power).items():
        wanted = max(1, round(share * total))
        pool: list[Crop] = []
        for _ in range(64):  # bounded: each pass re-augments every clip of the source
            pool += [w for c in by_source[source]
                     for w in make_crops(c, cfg, crop, rng, augment=True, how=how)]
            if len(pool) >= wanted or not pool:
                break
        chosen += [pool[i] for i in rng.permutation(len(pool))[:wanted]]
    return chosen


def corpus_crops(corpus: list[Clip], real: int, share: float, cfg: ModelConfig, crop: int,
                 rng: np.random.Generator, how: WindowAugment = WindowAugment()) -> list[Crop]:
    """Windows of randomly drawn corpus clips, as many as make them ``share`` of the epoch's windows
    (``real`` windows come from the captured videos); each drawn clip is augmented afresh."""
    if not corpus or share <= 0:
        return []
    wanted = round(real * share / (1 - share))
    synthetic = replace(how, room=False)  # the corpus has its own degradations (train.augment), no room tone
    chosen: list[Crop] = []
    for _ in range(4 * wanted):  # bounded: a clip shorter than a window gives none
        if len(chosen) >= wanted:
            break
        chosen += make_crops(corpus[rng.integers(len(corpus))], cfg, crop, rng, augment=True, how=synthetic)
    return chosen[:wanted]


def teacher_batch(chosen: list[Crop], dims: int) -> np.ndarray:
    """The windows' teacher states stacked [B, crop, dims], NaN for windows without any."""
    crop = len(chosen[0][1])
    return np.stack([c[3] if c[3] is not None else np.full((crop, dims), np.nan, np.float32) for c in chosen])


def pause_frames(audio: np.ndarray, below_db: float) -> np.ndarray:
    """Model frames [T] (bool) whose level is ``below_db`` or more under the clip's loud frames (95th percentile):
    the pauses between phrases."""
    frames = len(audio) // FRAME_SAMPLES
    db = loudness(audio, round(1 / FRAME_S), frames) * (20 / math.log(10))  # natural-log RMS in dB
    return db < (np.percentile(db, 95) if frames else 0.0) - below_db


def attach_teacher(clips: list[Clip], path: Path, pause_db: float = 0.0, kind: str = "states") -> int:
    """Give each clip its teacher states from a cache file (``python -m facecast.train.teacher``); the dims.
    With ``pause_db`` > 0 the teacher is left out of pauses (:func:`pause_frames`). A ``classes`` teacher must
    hold class probabilities (rows of at least 0 summing to 1), as ``teacher --phones`` writes."""
    from facecast.train.teacher import load_teacher

    states = load_teacher(path)
    dims = 0
    for c in clips:
        c.teacher = states.get(c.id)
        if c.teacher is not None:
            if kind == "classes" and (c.teacher.min() < 0 or not np.allclose(c.teacher.sum(1), 1, atol=1e-2)):
                raise InvalidInput(f"{path} does not hold class probabilities (clip {c.id}: rows must be at least 0 "
                                   "and sum to 1); --teacher-kind classes needs `python -m facecast.train.teacher "
                                   "--phones`")
            dims = c.teacher.shape[1]
            if pause_db > 0:
                quiet = pause_frames(c.audio, pause_db)[:len(c.teacher)]
                c.teacher = np.where(np.pad(quiet, (0, len(c.teacher) - len(quiet)))[:, None], np.nan, c.teacher)
    if not dims:
        raise InvalidInput(f"{path} has teacher states for none of the training clips")
    return dims


def evaluate(model: Model, clips: list[Clip], device: torch.device) -> dict[str, float]:
    """Mean r (lag 0) on whole clips of JawOpen against the captured JawOpen (``jaw_r``) and against the measured
    lip gap (``opening_r``), and mean flow loss."""
    model.eval()
    rs: list[float] = []
    opening_rs: list[float] = []
    flows: list[float] = []
    with torch.no_grad():
        for clip in clips:
            features = torch.from_numpy(clip_features(clip.audio, model.cfg))[None].to(device)
            h, mouth = model(features)
            n = min(mouth.shape[2], len(clip.targets))
            jaw = mouth[0, JAW, :n].cpu().numpy()
            for scores, target in ((rs, clip.targets[:n, JAW]), (opening_rs, clip.targets[:n, OPENING])):
                if jaw.std() > 1e-6 and target.std() > 1e-6:
                    scores.append(float(np.corrcoef(jaw, target)[0, 1]))
            motion = torch.from_numpy(clip.targets[:n, MOTION].T.copy())[None].to(device)
            cond = torch.tensor([[clip.level, 1.0]], device=device)
            flows.append(float(model.flow_loss(h[:, :, :n], motion, cond)))
    model.train()
    return {"jaw_r": float(np.mean(rs)) if rs else float("nan"),
            "opening_r": float(np.mean(opening_rs)) if opening_rs else float("nan"),
            "flow": float(np.mean(flows)) if flows else 0.0}


def motion_stats(clips: list[Clip]) -> tuple[np.ndarray, np.ndarray]:
    motion = np.concatenate([c.targets[:, MOTION] for c in clips])
    return motion.mean(0), motion.std(0) + 1e-4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m facecast.train", description=__doc__.split("\n")[0])
    add_arguments(p)
    return p.parse_args(argv)


def setup_distributed(device_arg: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    rank = 0
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
        rank = dist.get_rank()
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def main(argv: list[str] | argparse.Namespace | None = None) -> dict[str, Any]:
    args = argv if isinstance(argv, argparse.Namespace) else parse_args(argv)
    if not (args.data / "manifest.json").is_file() or not (args.data / "examples.npz").is_file():
        raise InvalidInput(f"{args.data} is not a dataset folder (no manifest.json and examples.npz); "
                           "build one with `facecast dataset build`")
    if args.band_masks < 0:
        raise InvalidInput(f"--band-masks must be 0 or more, not {args.band_masks}")
    if args.corpus and not 0 <= args.corpus_share < 1:
        raise InvalidInput(f"--corpus-share must be at least 0 and below 1, not {args.corpus_share}")
    corpus = corpus_clips(args.corpus) if args.corpus else []  # a bad corpus fails before the slow steps
    rank, world, device = setup_distributed(args.device)
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // world))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng([args.seed, rank])
    clips, _ = load_clips(args.data)
    if args.holdout_source:
        held = [c for c in clips if c.source == args.holdout_source]
        train = [c for c in clips if c.source != args.holdout_source]
        if len(held) > HELD_EVAL_CLIPS:  # the per-epoch score only; a fold's own evaluation is the caller's
            pick = np.random.default_rng(0).choice(len(held), HELD_EVAL_CLIPS, replace=False)
            held = [held[i] for i in sorted(pick)]
    else:
        manifest = json.loads((args.data / "manifest.json").read_text())
        validation = {e["id"] for e in manifest["clips"] if e["split"] == "validation"}
        held = [c for c in clips if c.id in validation]
        train = [c for c in clips if c.id not in validation]
    if args.max_clips_per_source:
        keep_rng = np.random.default_rng(args.seed)
        by_source: dict[str, list[Clip]] = {}
        for c in train:
            by_source.setdefault(c.source, []).append(c)
        train = [c for group in by_source.values()
                 for c in (group if len(group) <= args.max_clips_per_source else
                           [group[i] for i in sorted(keep_rng.choice(len(group), args.max_clips_per_source,
                                                                     replace=False))])]
    if not train:
        raise InvalidInput("no training clips left after the hold-out")
    head_levels(clips, train)
    norm = None
    if args.norm == "running":  # the prior: the training voices' own statistics, from their clean sound
        mean, std = speech_statistics([c.audio for c in train])
        norm = RunningNorm(tuple(mean.tolist()), tuple(std.tolist()))
    cfg = ModelConfig(width=args.width, lifter=args.lifter, norm=norm)
    if args.whole_clip:  # every block symmetric: for whole clips only (lookahead 0.62 s)
        cfg = replace(cfg, rights=cfg.dilations)
    model = Model(cfg).to(device)
    mean, std = motion_stats(train)
    model.motion_mean.copy_(torch.from_numpy(mean))
    model.motion_std.copy_(torch.from_numpy(std))
    teacher_dims = (attach_teacher(train, args.teacher, args.teacher_pause_db, args.teacher_kind)
                    if args.teacher else 0)
    training = TrainingGraph(model, teacher_dims, args.teacher_weight, args.r_target, args.teacher_kind).to(device)
    graph: nn.Module = training
    if world > 1:
        graph = nn.parallel.DistributedDataParallel(graph)
    optimizer = torch.optim.AdamW(training.parameters(), lr=args.lr, weight_decay=0.01)
    args.out.mkdir(parents=True, exist_ok=True)
    start_epoch, step, history, best = 0, 0, [], -2.0
    checkpoint = args.out / "checkpoint.pt"
    if args.resume and checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        if training.teacher_head is not None and "teacher_head" in state:
            training.teacher_head.load_state_dict(state["teacher_head"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step, history, best = state["epoch"], state["step"], state["history"], state["best"]
    weights = torch.from_numpy(MOUTH_WEIGHTS).to(device)
    mine = train[rank::world]
    my_corpus = corpus[rank::world]
    windows = sum(max(1, len(c.targets) // args.crop) for c in mine)  # from the videos
    if my_corpus:
        windows = round(windows / (1 - args.corpus_share))  # with the corpus's share added
    steps_per_epoch = max(1, windows // args.batch)
    total_steps = args.max_steps or steps_per_epoch * args.epochs
    how = WindowAugment(room=args.room_tone, vtlp=args.vtlp, band_masks=args.band_masks)
    started = time.time()
    for epoch in range(start_epoch, args.epochs):
        crops = epoch_crops(mine, cfg, args.crop, rng, args.source_power, how)
        crops += corpus_crops(my_corpus, len(crops), args.corpus_share, cfg, args.crop, rng, how)
        order = rng.permutation(len(crops))
        batches = len(order) // args.batch
        if world > 1:  # every rank must take the same number of steps
            count = torch.tensor([batches])
            dist.all_reduce(count, op=dist.ReduceOp.MIN)
            batches = int(count)
        totals: dict[str, float] = {}
        for b in range(batches):
            chosen = [crops[i] for i in order[b * args.batch:(b + 1) * args.batch]]
            features = torch.from_numpy(np.stack([c[0] for c in chosen])).to(device)
            targets = torch.from_numpy(np.stack([c[1] for c in chosen])).to(device)
            levels = torch.tensor([c[2] for c in chosen], dtype=torch.float32)
            keep = (torch.rand(len(chosen)) >= COND_DROP).float()
            cond = torch.stack([levels * keep, keep], 1).to(device)
            lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            teacher = (torch.from_numpy(teacher_batch(chosen, teacher_dims)).to(device) if teacher_dims else None)
            loss, parts = graph(features, targets, cond, weights, teacher)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v / max(batches, 1)
            if rank == 0 and step % 10 == 0:
                print(f"step {step}/{total_steps} loss {float(loss.detach()):.4f} "
                      f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
            if args.max_steps and step >= args.max_steps:
                break
        result = (evaluate(model, held, device) if held
                  else {"jaw_r": float("nan"), "opening_r": float("nan"), "flow": 0.0})
        record = {"epoch": epoch + 1, "step": step, "seconds": round(time.time() - started, 1), **totals,
                  **{f"held_{k}": v for k, v in result.items()}}
        history.append(record)
        if rank == 0:
            print(json.dumps(record), flush=True)
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                     "step": step, "history": history, "best": best, "config": cfg.to_dict(),
                     "args": {k: str(v) for k, v in vars(args).items()}}
            if training.teacher_head is not None:
                state["teacher_head"] = training.teacher_head.state_dict()
            torch.save(state, checkpoint.with_suffix(".tmp"))
            os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
            chosen_by = result["opening_r" if args.r_target == "opening" else "jaw_r"]
            score = chosen_by if math.isfinite(chosen_by) else -1.0
            if score >= best or not held:
                best = score
                torch.save(state, args.out / "best.pt")
        if args.max_steps and step >= args.max_steps:
            break
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return {"history": history, "best": best, "held_out": [c.id for c in held], "train_clips": len(train)}


def load_model(path: Path) -> Model:
    """A trained model from a checkpoint file."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    raw = state["config"]
    cfg = ModelConfig(width=raw["width"], dilations=tuple(raw["dilations"]), centred=tuple(raw["centred"]),
                      rights=tuple(raw.get("rights", ())), flow_width=raw["flow_width"],
                      flow_steps=raw["flow_steps"], motion_dims=raw["motion_dims"],
                      sampled=tuple(raw["sampled"]), lifter=int(raw.get("lifter", 0)),
                      norm=RunningNorm.from_dict(raw["norm"]) if raw.get("norm") else None)
    model = Model(cfg)
    model.load_state_dict(state["model"])
    model.eval()
    return model


__all__ = ["main", "load_model", "MODEL_RATE"]
