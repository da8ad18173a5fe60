"""``cbdiag score`` on audio files: rows, formats, exit codes, the pool, pictures, refusals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile
from typer.testing import CliRunner

from cbdiag.cli import app

runner = CliRunner()
RATE = 22050


def _write(path: Path, x: np.ndarray, rate: int = RATE) -> Path:
    wavfile.write(path, rate, np.round(np.clip(x, -1, 1) * 32767).astype(np.int16))
    return path


def tonal(seconds: float, level_dbfs: float, seed: int, period: int = 256) -> np.ndarray:
    """Noise (the content) plus a buzz: a pattern repeating every ``period`` samples."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n)
    buzz = np.cos(2 * np.pi * t / 4) + np.cos(2 * np.pi * 37 * t / period)  # two tones
    return 0.05 * rng.standard_normal(n) + 10 ** (level_dbfs / 20) / np.sqrt(2) * buzz


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["score", *args])
    return res.exit_code, res.stdout


def test_a_tonal_clip_is_flagged_and_a_clean_one_is_not(tmp_path: Path) -> None:
    buzz = _write(tmp_path / "buzz.wav", tonal(3, -40, 1))
    clean = _write(tmp_path / "clean.wav", tonal(3, -200, 2))
    code, out = run(str(buzz), str(clean))
    assert code == 1
    # the table is laid out for the width (long paths make it one record per clip)
    assert out.count("FLAGGED") >= 2 and "256" in out  # the row, and the legend
    assert "5512.5" in out  # a line, in Hz
    code, out = run(str(buzz), str(clean), "--format", "json")
    by = {Path(r["path"]).name: r for r in json.loads(out)["results"]}
    assert by["buzz.wav"]["flagged"] and by["buzz.wav"]["period"] == 256
    assert not by["clean.wav"]["flagged"] and by["clean.wav"]["period"] is None
    code, out = run(str(clean))
    assert code == 0 and "FLAGGED" in out and out.count("FLAGGED") == 1  # the legend only


def test_json_csv_and_json_lines(tmp_path: Path) -> None:
    buzz = _write(tmp_path / "buzz.wav", tonal(3, -40, 1))
    code, out = run(str(buzz), "--format", "json", "--stride", "8x8x2x2")
    doc = json.loads(out)
    assert code == 1 and doc["command"] == "score" and doc["kind"] == "audio"
    (r,) = doc["results"]
    assert r["period"] == 256 and r["flagged"] and r["error"] is None
    assert r["searched"] == [2, 4, 32, 256] and r["sample_rate"] == RATE
    assert abs(r["level_dbfs"] - (-40.0)) < 1.0  # two tones of -43 dBFS each: -40 in all
    assert r["lines"][0]["frequency"] in ("1/4", "37/256")
    assert {ln["hz"] for ln in r["lines"][:2]} == {RATE / 4, round(37 * RATE / 256, 2)}
    assert all(abs(ln["level_dbfs"] - (-43.01)) < 1.0 for ln in r["lines"][:2])
    code, out = run(str(buzz), "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["period"] == "256" and row["flagged"] == "True" and row["error"] == ""
    code, out = run(str(buzz), "--format", "json-lines", "-o", str(tmp_path / "out.jsonl"))
    assert out == ""
    recs = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert recs[0]["settings"]["kind"] == "audio" and recs[1]["period"] == 256


def test_a_batch_goes_past_bad_files_and_exits_2(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.wav", tonal(2, -200, 3))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x24\x00\x00\x00WAVEdata")
    short = _write(tmp_path / "short.wav", np.zeros(500))
    code, out = run(str(good), str(junk), str(short), str(tmp_path / "gone.wav"), "-f", "json")
    assert code == 2
    by = {Path(r["path"]).name: r for r in json.loads(out)["results"]}
    assert by["good.wav"]["error"] is None
    assert "cannot read the WAV data" in by["junk.wav"]["error"]
    assert "too short to score" in by["short.wav"]["error"]
    assert "no such file" in by["gone.wav"]["error"]


def test_the_pool_finds_the_buzz_no_clip_shows(tmp_path: Path) -> None:
    paths = [str(_write(tmp_path / f"c{i}.wav", tonal(1, -52, 10 + i, 64))) for i in range(16)]
    code, out = run(*paths, "--pooled", "--stride", "64", "-f", "json")
    doc = json.loads(out)
    assert not any(r["flagged"] for r in doc["results"])
    (pooled,) = doc["pooled"]
    assert pooled["flagged"] and pooled["period"] == 64 and pooled["clips"] == 16
    assert pooled["sample_rate"] == RATE and code == 1
    assert abs(pooled["level_dbfs"] - (-52.0)) < 1.0


def test_a_folder_is_searched_for_audio_with_audio(tmp_path: Path) -> None:
    d = tmp_path / "samples"
    d.mkdir()
    _write(d / "a.wav", tonal(2, -40, 4))
    _write(d / "b.wav", tonal(2, -200, 5))
    (d / "notes.txt").write_text("not audio")
    code, out = run(str(d), "--audio", "-f", "json")
    assert code == 1 and [Path(r["path"]).name for r in json.loads(out)["results"]] == [
        "a.wav",
        "b.wav",
    ]
    code, out = run(str(d), "-f", "json")  # no --audio: a folder of images is looked for
    assert code == 2 and "no images found" in json.loads(out)["results"][0]["error"]


def test_spectrogram_and_timeline_pictures(tmp_path: Path) -> None:
    buzz = _write(tmp_path / "buzz.wav", tonal(4, -40, 6))
    spec, tl = tmp_path / "spec.png", tmp_path / "map.png"
    code, _ = run(str(buzz), "--spectrum", str(spec), "--map", str(tl))
    assert code == 1
    img = np.asarray(Image.open(spec).convert("RGB")).astype(int)
    assert img.shape[0] > 300 and img.shape[1] >= 480
    red = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 20  # the line ticks
    assert Image.open(tl).size[0] >= 480
    code, _ = run(str(buzz), str(buzz) + "x", "--spectrum", str(tmp_path / "s2.png"))
    assert code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.wav", "b.png"], "score images and audio files in separate runs"),
        (["a.wav", "--jobs", "2"], "--jobs is for images"),
        (["a.wav", "--resume", "x.csv", "-f", "csv"], "--resume is for images"),
        (["a.wav", "--stride", "8x1"], "every rate must be at least 2"),
        (["b.png", "--stride", "8x8"], "--stride for images is a period from 2 to 32"),
    ],
)
def test_refusals_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    _write(tmp_path / "a.wav", tonal(1, -40, 7))
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "b.png")
    res = runner.invoke(app, ["score", *[str(tmp_path / a) if "." in a else a for a in args]])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
