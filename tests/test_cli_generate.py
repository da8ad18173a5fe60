"""``cbdiag generate`` end to end: files, panel, JSON, refusals."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cbdiag.cli import app
from cbdiag.generator import GeneratorConfig, generate

runner = CliRunner()
SMALL = ["--size", "16", "--width", "4"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )


def test_grid_npy_and_samples(tmp_path: Path) -> None:
    grid, npy, d = tmp_path / "g.png", tmp_path / "a.npy", tmp_path / "samples"
    res = runner.invoke(
        app,
        [
            "generate",
            *SMALL,
            "--count",
            "5",
            "--batch-size",
            "2",
            "--seed",
            "3",
            "-o",
            str(grid),
            "--npy",
            str(npy),
            "--out-dir",
            str(d),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["command"] == "generate" and info["seed"] == 3 and info["count"] == 5
    assert info["files"] == {"grid": str(grid), "out_dir": str(d), "npy": str(npy)}
    assert info["config"]["upsample"] == "deconv" and info["config"]["depth"] == 2
    arr = np.load(npy)
    assert arr.shape == (5, 16, 16, 3) and arr.dtype == np.float32
    # every file written gets the permissions of any new file (0666 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    for f in (npy, grid, d / "sample_00000.png"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f
    ref = generate(GeneratorConfig(size=16, width=4), count=5, seed=3, batch_size=2).images
    np.testing.assert_array_equal(arr, ref)
    pngs = sorted(p.name for p in d.iterdir())
    assert pngs == [f"sample_{i:05d}.png" for i in range(5)]
    assert Image.open(d / "sample_00000.png").size == (16, 16)
    assert Image.open(grid).format == "PNG"
    assert not list(tmp_path.glob(".cbdiag-*"))  # no temporary files left


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    grid = tmp_path / "g.png"
    grid.write_bytes(b"mine")
    p = cli("generate", *SMALL, "-o", str(grid))
    assert p.returncode == 2 and "exists" in p.stderr and grid.read_bytes() == b"mine"
    d = tmp_path / "s"
    d.mkdir()
    (d / "sample_00001.png").write_bytes(b"mine")
    p = cli("generate", *SMALL, "--count", "3", "-o", str(tmp_path / "h.png"), "--out-dir", str(d))
    assert p.returncode == 2 and "sample_00001.png exists" in p.stderr
    assert (d / "sample_00001.png").read_bytes() == b"mine"
    assert not (tmp_path / "h.png").exists()  # refused before any work
    p = cli("generate", *SMALL, "-o", str(grid), "--force")
    assert p.returncode == 0 and grid.read_bytes() != b"mine"


def test_default_output_name(tmp_path: Path) -> None:
    p = cli("generate", *SMALL, cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "generated.png").exists()
    assert "phase contrast" in p.stdout


def test_compare_panel(tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    res = runner.invoke(
        app,
        [
            "generate",
            "--compare",
            "--size",
            "32",
            "--width",
            "8",
            "-n",
            "2",
            "-o",
            str(out),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    names = [c["upsampler"] for c in info["columns"]]
    assert names == [
        "deconv k3 s2",
        "deconv k4 s2",
        "resize-nearest",
        "resize-bilinear",
        "subpixel",
        "subpixel-ICNR",
    ]
    pc = {c["upsampler"]: c["phase_contrast"] for c in info["columns"]}
    assert pc["deconv k3 s2"] > 5 * pc["resize-nearest"]
    img = Image.open(out)
    assert img.size[0] >= 6 * 32 * 4  # six columns of 4x magnified tiles
    again = tmp_path / "c2.png"
    runner.invoke(
        app, ["generate", "--compare", "--size", "32", "--width", "8", "-n", "2", "-o", str(again)]
    )
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))


def test_text_output_mentions_config(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["generate", *SMALL, "-u", "subpixel-icnr", "-o", str(tmp_path / "x.png")]
    )
    assert res.exit_code == 0
    assert "subpixel-icnr x2" in res.stdout and "wrote" in res.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--size", "48"], "not reachable"),
        (["--count", "0"], "--count must be from 1 to"),
        (["--count", "-2"], "--count must be from 1 to"),
        (["--upsample", "magic"], "magic"),
        (["--upsample", "resize-nearest", "--kernel", "3"], "apply to --upsample deconv"),
        (["--channels", "2"], "channels must be 1 or 3"),
        (["--kernel", "3", "--padding", "0"], "cannot multiply the size"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["-o", "/nonexistent-dir/x.png"], "does not exist"),
        (["--compare", "--upsample", "subpixel"], "--compare makes its own columns"),
        (["--width", "-1"], "width must be >= 1"),
    ],
)
def test_bad_input(args: list[str], fragment: str, tmp_path: Path) -> None:
    p = (
        cli("generate", "--size", "16", *args, cwd=tmp_path)
        if "--size" not in args
        else cli("generate", *args, cwd=tmp_path)
    )
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], p.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_unwritable_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere: use a path whose parent is a file instead
        blocker = tmp_path / "file"
        blocker.write_text("x")
        p = cli("generate", *SMALL, "-o", str(blocker / "x.png"))
    else:  # pragma: no cover - depends on the user running the tests
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        p = cli("generate", *SMALL, "-o", str(ro / "x.png"))
    assert p.returncode == 2 and p.stderr.startswith("error: ")


def test_a_write_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    """A disk that fills up while the PNG is written (here: a file-size limit, as a full disk
    fails a write) is one error line and exit 2, with neither the PNG nor a temporary file
    left behind, and an existing file kept as it was."""
    import resource
    import signal

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    old = tmp_path / "old.png"
    old.write_bytes(b"keep me")
    for target, extra in (("new.png", []), ("old.png", ["--force"])):
        p = subprocess.run(
            [sys.executable, "-m", "cbdiag", "generate", "--size", "64", "-o", target, *extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            preexec_fn=small_files,
            timeout=300,
        )
        assert p.returncode == 2, p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {target}"), p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["old.png"]
    assert old.read_bytes() == b"keep me"
