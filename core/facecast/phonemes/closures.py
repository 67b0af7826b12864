"""Acoustic evidence of lip closure, independent of the phone sequence the recogniser settled on.

A bilabial stop (/p b/) is a closure (an energy dip: silence, or only a low voice bar) followed by a weak,
diffuse burst; /m/ is a nasal murmur (strong low frequencies, weak high ones) between louder vowels. Every
energy dip of the audio (a local minimum at least :data:`MIN_DIP_DB` under the loud parts on both sides) is a
candidate; :func:`find_dips` describes it (depth, width, spectral balance in the dip and at the release)
together with what the recogniser heard there, and :data:`WEIGHTS`, a logistic model fitted on the training
voices of the synthetic corpus (exact phone timings give the truth; ``benchmarks/fit_closures.py``), says how
likely the lips are shut. :func:`add_likely_closures` turns the likely ones into bilabial phones,
:func:`snap_closures` adds a closure at the dip nearest each aligned /p b m/, and :func:`widen_bilabials` makes
estimated /p b m/ long enough to cover their uncertain boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecast.audio import MODEL_RATE as RATE
from facecast.phonemes import Phone, merge_silences
from facecast.phonemes.inventory import BILABIALS, SILENCE, VOWELS

HOP = 160  # 10 ms frames
WINDOW = 400  # 25 ms
CONTEXT_FRAMES = 15  # the loud parts around a dip are looked for within 150 ms on each side
MIN_DIP_DB = 4.0
MERGE_FRAMES = 4  # minima closer than 40 ms are one dip
TRANSITION_FRAMES = 5  # formant transitions are compared over 50 ms
NEAR_S = 0.04  # recognised phones this close to a dip count as heard there
CLOSURE_S = 0.06  # length of the bilabial phone put at a likely closure
THRESHOLD = 0.3  # P(shut) from which a dip gets a closure: more finds more /p b m/ and shuts more /t d k/
SNAP_S = 0.08  # an aligned /p b m/ also shuts the lips at a dip this close to its middle
UNCERTAIN_CLOSURE_S = 0.1  # estimated /p b m/ are shut at least this long
FEATURES = ("bias", "depth_db", "level_db", "width", "high_share_db", "low_share_db", "release_high_db",
            "release_rise_db", "centroid_fall_in", "centroid_rise_out", "heard_bilabial", "heard_labial",
            "heard_stop_nasal", "heard_vowel", "heard_silence")
LABIALS = BILABIALS | {"F", "V", "W"}
STOPS_AND_NASALS = frozenset({"T", "D", "K", "G", "N", "NG"})
WEIGHTS = np.array([-2.024, 0.04479, 0.009778, -0.015, -0.01669, 0.03947, -0.01661, -0.01823, -0.07433, 0.02302,
                    0.4545, 0.25, 0.08808, -0.1428, 0.2195])


@dataclass(frozen=True)
class Dip:
    """A candidate closure: the dip's deepest frame time and its extent (seconds), and its features."""

    time: float
    start: float
    end: float
    features: np.ndarray


def _running_max(x: np.ndarray, before: int, after: int) -> np.ndarray:
    padded = np.concatenate([np.full(before, -np.inf), x, np.full(after, -np.inf)])
    return np.lib.stride_tricks.sliding_window_view(padded, before + after + 1).max(axis=1)


def _spectra(samples: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per 10 ms frame: level (dB), share of power above 3 kHz and below 500 Hz (dB), and the centroid of
    the 500-3500 Hz band (kHz; it follows the second formant, which falls towards a labial closure)."""
    count = (len(samples) - WINDOW) // HOP + 1
    frames = np.lib.stride_tricks.sliding_window_view(samples, WINDOW)[::HOP][:count] * np.hanning(WINDOW)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(WINDOW, 1 / RATE)
    total = power.sum(axis=1) + 1e-10
    high = 10 * np.log10(power[:, freqs >= 3000].sum(axis=1) / total + 1e-6)
    low = 10 * np.log10(power[:, freqs < 500].sum(axis=1) / total + 1e-6)
    band = (freqs >= 500) & (freqs < 3500)
    centroid = (power[:, band] @ freqs[band]) / (power[:, band].sum(axis=1) + 1e-10) / 1000
    return 10 * np.log10(total), high, low, centroid


def find_dips(samples: np.ndarray, phones: list[Phone]) -> list[Dip]:
    """The energy dips of 16 kHz ``samples`` with their features; ``phones`` (recognised, times relative to
    the start of ``samples``) say what was heard around each."""
    samples = np.asarray(samples, np.float64)
    if len(samples) < WINDOW + 2 * HOP:
        return []
    level, high, low, centroid = _spectra(samples)
    last = len(level) - 1
    depth = np.minimum(_running_max(level, CONTEXT_FRAMES, 0), _running_max(level, 0, CONTEXT_FRAMES)) - level
    local_peak = _running_max(level, 3 * CONTEXT_FRAMES, 3 * CONTEXT_FRAMES)
    minima = np.nonzero((level[1:-1] <= level[:-2]) & (level[1:-1] < level[2:]) & (depth[1:-1] >= MIN_DIP_DB))[0] + 1
    merged: list[int] = []
    for i in minima.tolist():
        if merged and i - merged[-1] < MERGE_FRAMES:
            merged[-1] = i if level[i] < level[merged[-1]] else merged[-1]
        else:
            merged.append(int(i))
    dips = []
    for i in merged:
        below = level < level[i] + depth[i] / 2  # the dip's extent: frames in its lower half
        lo = i
        while lo > 0 and below[lo - 1]:
            lo -= 1
        hi = i
        while hi + 1 < len(level) and below[hi + 1]:
            hi += 1
        release, before = min(hi + 1, last), max(lo - 1, 0)
        start, end, time = ((k * HOP + WINDOW / 2) / RATE for k in (lo, hi + 1, i))
        heard = [p.symbol for p in phones if p.end > start - NEAR_S and p.start < end + NEAR_S]
        features = np.array([
            1.0, depth[i], level[i] - local_peak[i], hi + 1 - lo, high[i], low[i], high[release],
            _running_max(level, 0, 3)[release] - level[i],
            centroid[before] - centroid[max(before - TRANSITION_FRAMES, 0)],
            centroid[release] - centroid[min(release + TRANSITION_FRAMES, last)],
            any(s in BILABIALS for s in heard), any(s in LABIALS for s in heard),
            any(s in STOPS_AND_NASALS for s in heard), any(s in VOWELS for s in heard), SILENCE in heard])
        dips.append(Dip(time, start, end, features))
    return dips


def closure_probability(features: np.ndarray) -> np.ndarray:
    """P(lips shut) for dip features [N, len(FEATURES)] under the fitted logistic model."""
    return 1.0 / (1.0 + np.exp(-np.asarray(features) @ WEIGHTS))


def add_likely_closures(samples: np.ndarray, phones: list[Phone], offset: float = 0.0) -> list[Phone]:
    """Recognised ``phones`` (absolute times; ``samples`` start at ``offset`` s) with a bilabial put at every
    dip where the lips are likely shut (the recogniser finds only about a quarter of /p b m/ on its own)."""
    dips = find_dips(samples, _shifted(phones, -offset))
    if not dips:
        return phones
    likely = closure_probability(np.stack([d.features for d in dips])) >= THRESHOLD
    return _overlay(phones, [_closure_at(d.time + offset) for d, keep in zip(dips, likely) if keep])


def snap_closures(samples: np.ndarray, phones: list[Phone]) -> list[Phone]:
    """Aligned ``phones`` with a bilabial added at the dip nearest each aligned /p b m/ (within
    :data:`SNAP_S`): the aligner's boundaries are off by ~30 ms, the dip is where the lips really shut."""
    dips = find_dips(samples, [])
    if not dips:
        return phones
    times = np.array([d.time for d in dips])
    snapped = []
    for phone in phones:
        if phone.symbol in BILABIALS:
            nearest = times[np.argmin(np.abs(times - phone.center))]
            if abs(nearest - phone.center) <= SNAP_S and not phone.start <= nearest < phone.end:
                snapped.append(_closure_at(float(nearest)))
    return _overlay(phones, snapped)


def widen_bilabials(phones: list[Phone], length: float = UNCERTAIN_CLOSURE_S) -> list[Phone]:
    """``phones`` with every /p b m/ at least ``length`` long around its middle: estimated boundaries are off
    by ~30 ms, and a closure a little too long looks better than one that misses the sound."""
    wider = [Phone(p.symbol, max(0.0, p.center - length / 2), p.center + length / 2)
             for p in phones if p.symbol in BILABIALS and p.duration < length]
    return _overlay(phones, wider)


def _shifted(phones: list[Phone], by: float) -> list[Phone]:
    return [Phone(p.symbol, p.start + by, p.end + by) for p in phones]


def _closure_at(time: float) -> Phone:
    return Phone("B", max(0.0, time - CLOSURE_S / 2), time + CLOSURE_S / 2)


def _overlay(phones: list[Phone], inserted: list[Phone]) -> list[Phone]:
    """``phones`` with ``inserted`` put in place: overlapping phones are trimmed, ones covered are dropped."""
    out = list(phones)
    for new in inserted:
        kept = []
        for p in out:
            if p.end <= new.start or p.start >= new.end:
                kept.append(p)
                continue
            if p.start < new.start:
                kept.append(Phone(p.symbol, p.start, new.start))
            if p.end > new.end:
                kept.append(Phone(p.symbol, new.end, p.end))
        out = kept + [new]
    return merge_silences(sorted(out, key=lambda p: p.start))
