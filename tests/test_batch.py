"""Batch runs: a folder of 50 real dialogue lines plus a corrupt and a silent file, resumable and parallel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from facecast.audio import load_audio
from facecast.cli import main
from facecast.dialogue_batch import BatchOptions, animate_lines, read_lines
from facecast.exports import load_clip

FORMATS = "csv,glb,usda,fcclip"
ROOT = Path(__file__).resolve().parents[1]


def make_lines(folder: Path, speech: Path, count: int = 50) -> None:
    """``count`` lines cut from the shared speech clips (1 to 2 s each), one corrupt file and one silent file."""
    folder.mkdir()
    clips = [load_audio(p).samples for p in sorted(speech.glob("*.wav"))]
    rng = np.random.default_rng(0)
    for i in range(count):
        samples = clips[i % len(clips)]
        length = int(16000 * rng.uniform(1.0, 2.0))
        start = int(rng.integers(0, max(1, len(samples) - length)))
        sf.write(folder / f"line_{i:02d}.wav", samples[start:start + length], 16000)
    (folder / "line_03.txt").write_text("a transcript beside its audio\n")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEthis is not audio" * 20)
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)


@pytest.fixture
def lines_folder(tmp_path, shared_data) -> Path:
    make_lines(tmp_path / "lines", shared_data / "speech")
    return tmp_path / "lines"


def outputs(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix in (".csv", ".glb", ".usda", ".fcclip")}


@pytest.mark.slow
def test_batch_writes_every_good_line_names_the_bad_ones_and_resumes(lines_folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(lines_folder), "-o", str(out), "--format", FORMATS, "--animator", "energy",
                 "--jobs", "2", "--quiet"])
    assert code == 1  # two lines failed
    report = json.loads((out / "report.json").read_text())
    assert report["counts"] == {"done": 50, "skipped": 0, "failed": 2}
    failed = {line["name"]: line["reason"] for line in report["lines"] if line["status"] == "failed"}
    assert set(failed) == {"corrupt", "silent"}
    assert "silent" in failed["silent"] and failed["corrupt"]
    failures = (out / "failures.txt").read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in failures) == ["corrupt", "silent"]
    assert "failed: corrupt" in capsys.readouterr().err
    written = outputs(out)
    assert len(written) == 50 * 4
    first = load_clip(out / "line_00.fcclip")
    assert np.allclose(load_clip(out / "line_00.csv").values[:, :52], first.values[:, :52], atol=1e-5)
    assert report["x_realtime"] > 0 and report["lines_per_minute"] > 0

    # Interrupted run: some outputs lost, one input changed. Only those lines are redone.
    for name in ("line_05.glb", "line_17.usda", "line_30.csv"):
        (out / name).unlink()
    later = time.time() + 5
    os.utime(lines_folder / "line_40.wav", (later, later))
    kept = {k: v for k, v in outputs(out).items() if not k.startswith(("line_05.", "line_17.", "line_30.", "line_40."))}
    code = main(["batch", str(lines_folder), "-o", str(out), "--format", FORMATS, "--animator", "energy",
                 "--jobs", "2", "--quiet"])
    report = json.loads((out / "report.json").read_text())
    assert code == 1 and report["counts"] == {"done": 4, "skipped": 46, "failed": 2}
    assert {line["name"] for line in report["lines"] if line["status"] == "done"} == {
        "line_05", "line_17", "line_30", "line_40"}
    assert {k: v for k, v in outputs(out).items() if k in kept} == kept  # nothing else was rewritten
    assert len(outputs(out)) == 200


@pytest.mark.slow
def test_killed_batch_leaves_no_partial_outputs_and_finishes_on_rerun(lines_folder, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "facecast", "batch", str(lines_folder), "-o", str(out), "--format", FORMATS,
               "--animator", "energy", "--jobs", "2", "--quiet"]
    # A shell's background job (CI runners, `make test &`) inherits SIGINT ignored, and Python then installs no
    # Ctrl-C handler: the batch under test gets the default disposition back, as in a terminal.
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*.fcclip"))) < 10:  # glob of a missing folder is empty
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    done_before = {p.stem for p in out.glob("*.fcclip")}
    assert 10 <= len(done_before) < 50
    for path in out.glob("*.fcclip"):
        load_clip(path)  # every file there is whole
    code = subprocess.run(command, timeout=300, check=False).returncode
    report = json.loads((out / "report.json").read_text())
    assert code == 1 and report["counts"]["failed"] == 2
    assert report["counts"]["done"] + report["counts"]["skipped"] == 50
    assert report["counts"]["done"] <= 50 - len(done_before) + 2  # lines cut off mid-write are redone, no more
    assert not list(out.glob(".facecast-*"))  # no temporary files left behind


def test_manifest_lines_carry_controls_and_bad_entries_fail_alone(tmp_path, assets):
    (tmp_path / "a.wav").write_bytes((assets / "speech_en.wav").read_bytes())
    manifest = tmp_path / "lines.json"
    manifest.write_text(json.dumps([
        {"audio": "a.wav", "name": "happy_a", "emotion": "happy", "intensity": 0.9, "seed": 4},
        {"audio": "a.wav", "name": "sad_a", "emotion": "sad"},
        {"audio": "a.wav", "name": "../escape"},
        {"audio": "missing.wav", "name": "gone"},
        {"name": "no_audio"},
    ]))
    lines = read_lines(manifest)
    assert [line.name for line in lines] == ["happy_a", "sad_a", "../escape", "gone", "no_audio"]
    assert lines[0].emotion == "happy" and lines[0].intensity == 0.9 and lines[0].seed == 4
    report = animate_lines(lines, BatchOptions(out_dir=str(tmp_path / "out"), formats=[".fcclip"], animator="energy",
                                           workers=1))
    status = {line["name"]: line["status"] for line in report["lines"]}
    assert status == {"happy_a": "done", "sad_a": "done", "../escape": "failed", "gone": "failed",
                      "no_audio": "failed"}
    happy, sad = load_clip(tmp_path / "out" / "happy_a.fcclip"), load_clip(tmp_path / "out" / "sad_a.fcclip")
    assert happy.metadata["controls"]["emotion"] == "happy" and sad.metadata["controls"]["emotion"] == "sad"
    assert not np.allclose(happy.values, sad.values)

    csv_manifest = tmp_path / "lines.csv"
    csv_manifest.write_text("audio,name,emotion,intensity,seed\na.wav,x,angry,0.5,2\na.wav,y,,oops,\n")
    lines = read_lines(csv_manifest)
    assert lines[0].emotion == "angry" and lines[0].seed == 2 and lines[1].problem


def test_batch_rejects_options_no_format_takes(tmp_path, assets):
    from facecast.errors import InvalidInput

    with pytest.raises(InvalidInput, match="--head does not apply to .csv"):
        animate_lines(read_lines(assets), BatchOptions(out_dir=str(tmp_path), formats=[".csv"],
                                                   export_options={"head": "x.glb"}))


@pytest.mark.slow
def test_batch_through_a_running_daemon_gives_the_local_result(tmp_path, assets):
    from daemon import Daemon

    folder = tmp_path / "lines"
    folder.mkdir()
    for name in ("speech_en.wav", "speech_de.wav"):
        (folder / name).write_bytes((assets / name).read_bytes())
    (folder / "broken.wav").write_bytes(b"not audio")
    local = animate_lines(read_lines(folder), BatchOptions(out_dir=str(tmp_path / "local"), formats=[".fcclip"],
                                                       animator="energy", workers=1))
    daemon = Daemon()
    try:
        remote = animate_lines(read_lines(folder), BatchOptions(out_dir=str(tmp_path / "remote"), formats=[".fcclip"],
                                                            animator="energy", server=daemon.address, workers=2))
    finally:
        daemon.stop()
    assert local["counts"] == remote["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    for name in ("speech_en", "speech_de"):
        a = load_clip(tmp_path / "local" / f"{name}.fcclip")
        b = load_clip(tmp_path / "remote" / f"{name}.fcclip")
        assert a.num_frames == b.num_frames and np.abs(a.values - b.values).max() < 1e-4
