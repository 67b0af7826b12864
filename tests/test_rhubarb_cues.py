"""``facecast animate speech.wav -o cues.tsv|cues.xml|cues.rhubarb.json``: Rhubarb Lip Sync's mouth cues (A-H, X)
in Rhubarb's own file formats (its README, "Output formats"), read off the take of any animator."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from terminal import assert_ok, run_in_terminal

from facecast.audio import MODEL_RATE, resample
from facecast.exports.rhubarb import mouth_cues, mouth_shapes
from facecast.motion import CHANNEL_INDEX, MotionClip
from facecast.phonemes import espeak

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Bob bought a map, then Mia put the big plum back."


@pytest.fixture(scope="module")
def cues(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """The three files for a spoken sentence with many /p b m/, and the sentence's phone timings."""
    path = tmp_path_factory.mktemp("rhubarb")
    spoken = espeak.speak(SENTENCE, "en-us+m3")
    sf.write(path / "speech.wav", resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE),
             MODEL_RATE)
    # one take, kept as .fcclip (it records its recording's name and length), exported to the three formats;
    # `animate -o cues.tsv` writes the same through the same writer (tests/test_plain_install.py runs it)
    assert_ok(run_in_terminal("animate", "speech.wav", "--text", SENTENCE, "-o", "take.fcclip", cwd=path))
    output = assert_ok(run_in_terminal("export", "take.fcclip", "-o", "cues.tsv", "-o", "cues.xml", "-o",
                                       "cues.rhubarb.json", cwd=path))
    assert all(f"wrote {name}" in output for name in ("cues.tsv", "cues.xml", "cues.rhubarb.json"))
    return path, spoken.phones


def _duration(path: Path) -> float:
    return int(sf.info(path / "speech.wav").duration * 100) / 100


def test_tsv_is_rhubarbs_format(cues) -> None:
    path, _ = cues
    lines = (path / "cues.tsv").read_text().splitlines()
    assert all(re.fullmatch(r"\d+\.\d\d\t[A-HX]", line) for line in lines), lines[:5]
    times = [float(line.split("\t")[0]) for line in lines]
    assert times[0] == 0.0 and times == sorted(times) and len(set(times)) == len(times)
    assert lines[-1] == f"{_duration(path):.2f}\tX"  # the special last line: the recording's end, closed mouth


def test_xml_and_json_are_rhubarbs_format_and_agree_with_tsv(cues) -> None:
    path, _ = cues
    root = ET.parse(path / "cues.xml").getroot()
    assert root.tag == "rhubarbResult" and [c.tag for c in root] == ["metadata", "mouthCues"]
    assert root.find("metadata/soundFile").text.endswith("speech.wav")
    assert root.find("metadata/duration").text == f"{_duration(path):.2f}"
    from_xml = [(float(c.get("start")), float(c.get("end")), c.text) for c in root.find("mouthCues")]
    doc = json.loads((path / "cues.rhubarb.json").read_text())
    assert list(doc) == ["metadata", "mouthCues"] and list(doc["metadata"]) == ["soundFile", "duration"]
    from_json = [(c["start"], c["end"], c["value"]) for c in doc["mouthCues"]]
    assert from_xml == from_json
    assert all(end == start for (_, end, _), (start, _, _) in zip(from_xml, from_xml[1:]))  # contiguous
    assert from_xml[0][0] == 0.0 and from_xml[-1][1] == _duration(path)
    tsv = [line.split("\t") for line in (path / "cues.tsv").read_text().splitlines()[:-1]]
    assert [(float(t), s) for t, s in tsv] == [(a, s) for a, _, s in from_xml]
    assert {s for _, _, s in from_xml} <= set("ABCDEFGHX") and all(b - a >= 0.03 for a, b, _ in from_xml)


def test_lips_close_on_bilabials(cues) -> None:
    path, phones = cues
    doc = json.loads((path / "cues.rhubarb.json").read_text())
    def shape_at(t: float) -> str:
        return next(c["value"] for c in doc["mouthCues"] if c["start"] <= t < c["end"])
    bilabials = [(p.start + p.end) / 2 for p in phones if p.symbol in ("P", "B", "M")]
    closed = [shape_at(t) in "AX" for t in bilabials]
    assert len(bilabials) >= 8 and np.mean(closed) >= 0.6, closed


@pytest.mark.parametrize("channels, expected", [
    ({}, "X"),
    ({"JawOpen": 0.7}, "D"),
    ({"JawOpen": 0.3}, "C"),
    ({"JawOpen": 0.12}, "B"),
    ({"JawOpen": 0.05, "MouthClose": 0.4, "MouthPressLeft": 0.5, "MouthPressRight": 0.5}, "A"),
    ({"JawOpen": 0.1, "MouthPucker": 0.7}, "F"),
    ({"JawOpen": 0.35, "MouthFunnel": 0.5}, "E"),
    ({"JawOpen": 0.08, "MouthRollLower": 0.6}, "G"),
    ({"JawOpen": 0.2, "TongueOut": 0.5}, "H"),
])
def test_shapes_follow_the_curves(channels: dict[str, float], expected: str) -> None:
    values = np.zeros((30, 61), np.float32)
    for name, value in channels.items():
        values[:, CHANNEL_INDEX[name]] = value
    clip = MotionClip(30, values)
    assert set(mouth_shapes(clip)) == {expected}
    assert mouth_cues(clip) == [(0.0, 1.0, expected)]
