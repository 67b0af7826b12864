"""The synthetic speech corpus: voices, a 2-minute slice build, reproducibility, the voice split, the CLI and
the evaluation on held-out voices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facecast.cli import main
from facecast.errors import InvalidInput
from facecast.phonemes import espeak
from facecast.train.augment import augment
from facecast.train.corpus import build_corpus, held_out_voices, load_item, load_manifest

if not espeak.available():
    pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)", allow_module_level=True)
pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed (pip install pocketsphinx)")

from facecast.phonemes.tts import synthesize, voices


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory):
    """A 2-minute corpus slice, built once for the module on two worker processes."""
    out = tmp_path_factory.mktemp("corpus")
    build_corpus(out, 2 / 60, seed=11, jobs=2)
    return out


def test_at_least_forty_voices_from_several_engines():
    found = voices()
    assert len(found) >= 40
    assert {"espeak"} <= {v.engine for v in found}
    assert len({v.language for v in found}) >= 5


@pytest.mark.parametrize("engine", ["flite", "festival"])
def test_other_engines_report_phone_timings(engine):
    chosen = [v for v in voices() if v.engine == engine]
    if not chosen:
        pytest.skip(f"{engine} is not installed (apt-get install {engine})")
    speech = synthesize(chosen[0], "Bob may buy a map.")
    duration = len(speech.samples) / speech.sample_rate
    symbols = [p.symbol for p in speech.phones if p.symbol != "SIL"]
    assert symbols[:4] == ["B", "AA", "B", "M"]
    assert speech.phones[-1].end == pytest.approx(duration)


@pytest.mark.slow
def test_two_minute_slice_is_complete_and_split_by_voice(slice_dir):
    manifest = load_manifest(slice_dir)
    items = manifest["items"]
    assert manifest["hours"] * 60 >= 2
    held = set(manifest["heldout_voices"])
    assert {e["voice"] for e in items if e["split"] == "heldout"} <= held
    assert not {e["voice"] for e in items if e["split"] == "train"} & held
    assert len({e["voice"] for e in items}) >= 20
    for entry in items[:10]:
        item = load_item(slice_dir, entry)
        duration = len(item.audio) / 16000
        assert duration == pytest.approx(entry["duration"], abs=1e-3)
        assert item.phones[0].start == 0 and item.phones[-1].end == pytest.approx(duration, abs=1e-3)
        assert len(item.motion) == int(np.ceil(duration * 30 - 1e-9))
        assert np.isfinite(item.motion).all() and item.motion[:, 17].max() > 0.2  # the jaw moves


@pytest.mark.slow
def test_same_seed_same_corpus_whatever_the_number_of_jobs(tmp_path):
    build_corpus(tmp_path / "a", 0.01, seed=4, jobs=1)
    build_corpus(tmp_path / "b", 0.01, seed=4, jobs=2)
    assert (tmp_path / "a" / "manifest.json").read_text() == (tmp_path / "b" / "manifest.json").read_text()
    for shard in sorted((tmp_path / "a").glob("*.npz")):
        with np.load(shard) as a, np.load(tmp_path / "b" / shard.name) as b:
            differ = [(k, int(np.sum(a[k] != b[k])), a[k].size) for k in a.files if not np.array_equal(a[k], b[k])]
            assert not differ, f"{shard.name}: (array, values that differ, values) {differ}"


def test_held_out_voices_cover_every_engine_and_depend_on_the_seed():
    found = voices()
    held = held_out_voices(found, 0)
    assert {v.engine for v in found if v.id in held} == {v.engine for v in found}
    assert 0.05 < len(held) / len(found) < 0.25
    assert held_out_voices(found, 0) == held != held_out_voices(found, 1)


def test_augmentation_keeps_length_and_level():
    rng = np.random.default_rng(0)
    tone = 0.5 * np.sin(np.arange(22050) / 10).astype(np.float32)
    for _ in range(10):
        out, settings = augment(tone, 22050, rng)
        assert out.shape == tone.shape and np.abs(out).max() <= 0.91 and "gain_db" in settings


def test_bad_hours_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="hours"):
        build_corpus(tmp_path, 0)


def test_cli_builds_and_evaluates(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["corpus", "build", "--hours", "0.02", "--out", str(out), "--seed", "2", "--jobs", "1"]) == 0
    assert "items" in capsys.readouterr().out
    report = tmp_path / "eval.json"
    assert main(["eval", str(out), "--limit", "4", "--animators", "energy,phonetic-given",
                 "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["phonetic-given"]["bilabial_closure"] == 1.0
    assert results["phonetic-given"]["curve_error"] < results["energy"]["curve_error"]


def test_eval_of_a_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="manifest"):
        load_manifest(tmp_path)
