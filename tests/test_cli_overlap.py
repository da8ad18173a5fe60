"""``cbdiag overlap`` and the root command, through typer's runner and a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cbdiag import __version__
from cbdiag.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def run_json(*args: str) -> dict:
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in a subprocess (exit codes, streams, no traceback)."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


# ---------------------------------------------------------------------------------------------
# root command
# ---------------------------------------------------------------------------------------------


def test_version() -> None:
    p = cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"cbdiag {__version__}"


def test_help_lists_every_command_with_a_summary() -> None:
    p = cli("--help")
    assert p.returncode == 0
    assert "overlap" in p.stdout and "Exact overlap" in p.stdout


def test_bare_invocation_shows_help() -> None:
    p = cli()
    assert p.returncode == 0 and "overlap" in p.stdout


def test_unknown_option_is_one_line_exit_2() -> None:
    p = cli("overlap", "--kernel", "3", "--stride", "2", "--bogus")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--bogus" in lines[0]


def test_unknown_command_is_one_line_exit_2() -> None:
    p = cli("frobnicate")
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("error: ")


# ---------------------------------------------------------------------------------------------
# overlap: text
# ---------------------------------------------------------------------------------------------


def test_default_k3s2_shows_the_distill_pattern() -> None:
    p = cli("overlap", "--kernel", "3", "--stride", "2")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "UNEVEN" in out and "[2, 1]" in out
    # the 9x9 map: an interior row alternates 2 4 2 4 between grey border cells
    assert "·2 2 4 2 4 2 4 2·2" in out
    assert "border" in out and "max/min" in out
    # k3 s2 p0 gives 2n+1 outputs; the even kernel with the same size is k4 p1 op1
    assert "deconv k4 s2 p1 op1" in out
    assert "nearest x2, conv k3 p1" in out and "blur 2" in out
    assert p.stderr == ""


def test_text_for_stack_shows_layer_table_and_notes() -> None:
    res = run("overlap", "--preset", "pix2pixhd")
    assert res.exit_code == 0
    assert "after each layer" in res.stdout
    assert "2.098" in res.stdout
    assert "4x deconv k3 s2 p1 op1" in res.stdout


def test_even_text() -> None:
    res = run("overlap", "-k", "4", "-s", "2", "-p", "1")
    assert res.exit_code == 0 and "EVEN" in res.stdout and "fix:" not in res.stdout


def test_holes_text() -> None:
    res = run("overlap", "-k", "1", "-s", "2")
    assert res.exit_code == 0 and "HOLES" in res.stdout


def test_list_presets() -> None:
    res = run("overlap", "--list-presets")
    assert res.exit_code == 0
    for name in ("dcgan", "cyclegan", "pix2pixhd", "resize-conv", "subpixel"):
        assert name in res.stdout


# ---------------------------------------------------------------------------------------------
# overlap: json
# ---------------------------------------------------------------------------------------------


def test_json_contract() -> None:
    d = run_json("overlap", "--kernel", "3", "--stride", "2")
    for key in (
        "tool",
        "version",
        "command",
        "layers",
        "shape",
        "period",
        "pattern",
        "ratio_1d",
        "ratio_2d",
        "min",
        "max",
        "even",
        "holes",
    ):
        assert key in d
    assert (d["tool"], d["version"], d["command"]) == ("cbdiag", __version__, "overlap")
    assert d["pattern"] == {"y": [2, 1], "x": [2, 1]}
    assert d["ratio_1d"] == {"y": 2, "x": 2} and d["ratio_2d"] == 4
    assert (d["min"], d["max"], d["even"], d["holes"]) == (1, 4, False, False)
    assert d["period"] == [2, 2]
    # the values reproduce the map: outer product of the per-axis values
    m = np.outer(d["values"]["y"], d["values"]["x"])
    assert list(m.shape) == d["shape"]
    assert d["layers"][0]["spec"] == "deconv k3 s2"
    assert d["spectrum"]["y"][0]["frequency"] == "1/2"
    assert d["spectrum"]["y"][0]["amplitude"] == pytest.approx(1 / 3)


def test_json_holes_ratio_is_null() -> None:
    d = run_json("overlap", "--kernel", "1", "--stride", "2")
    assert d["holes"] is True and d["ratio_2d"] is None and d["ratio_1d"]["y"] is None


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--kernel", "3x4", "--stride", "2"], {"y": [2, 1], "x": [2]}),
        (["--kernel", "3", "--stride", "2x1"], {"y": [2, 1], "x": [3]}),
        (["--kernel", "3", "--stride", "2", "--dilation", "2"], {"y": [3, 0], "x": [3, 0]}),
        (["--kernel", "3", "--stride", "2", "--framework", "tf"], {"y": [2, 1], "x": [2, 1]}),
        (["--kernel", "3", "--stride", "2", "--tf-padding", "valid"], {"y": [2, 1], "x": [2, 1]}),
        (
            ["--kernel", "3", "--stride", "2", "--padding", "1", "--output-padding", "1"],
            {"y": [1, 2], "x": [1, 2]},
        ),
        (["--layers", "2x deconv k3 s2"], {"y": [3, 2, 3, 1], "x": [3, 2, 3, 1]}),
    ],
)
def test_json_options(args: list[str], pattern: dict[str, list[int]]) -> None:
    d = run_json("overlap", *args)
    assert d["pattern"] == pattern


def test_input_size_option() -> None:
    d = run_json("overlap", "-k", "3", "-s", "2", "--input-size", "5x7")
    assert d["input_size"] == [5, 7] and d["shape"] == [11, 15]
    d = run_json("overlap", "-k", "3", "-s", "2", "-p", "1", "--output-padding", "1", "-i", "8")
    assert d["shape"] == [16, 16]


def test_repeated_layers_option_stacks_in_order() -> None:
    d = run_json("overlap", "-l", "deconv k3 s2", "--layers", "2x (nearest x2, conv k3 p1)")
    assert [la["spec"] for la in d["layers"]] == ["deconv k3 s2"] + [
        "nearest x2",
        "conv k3 p1",
    ] * 2


def test_input_too_small_for_an_interior() -> None:
    """A DCGAN's real 1x1 input: the map is all border; no border widths or interior are
    invented, and a note says the statistics are the stack's own."""
    d = run_json("overlap", "--preset", "dcgan", "--input-size", "1")
    assert d["shape"] == [16, 16]
    assert d["interior"] == {"rows": 0, "cols": 0}
    assert d["border"] == {"top": None, "bottom": None, "left": None, "right": None}
    assert any("has no interior" in n for n in d["notes"])
    p = cli("overlap", "--preset", "dcgan", "--input-size", "1")
    assert "top 16" not in p.stdout and "the whole map" in p.stdout
    d = run_json("overlap", "--preset", "dcgan", "--input-size", "4")
    assert d["interior"]["rows"] > 0 and d["border"]["top"] is not None
    assert not any("has no interior" in n for n in d["notes"])


def test_tf_same_output_size() -> None:
    d = run_json("overlap", "-k", "5", "-s", "2", "--framework", "tf", "-i", "6")
    assert d["shape"] == [12, 12] and d["layers"][0]["tf_padding"] == "same"
    d = run_json("overlap", "-k", "5", "-s", "2", "--tf-padding", "valid", "-i", "6")
    assert d["shape"] == [15, 15]


def test_gradient_option() -> None:
    d = run_json("overlap", "--gradient", "-k", "1", "-s", "2", "-i", "8")
    assert d["mode"] == "gradient" and d["holes"] is True and d["shape"] == [8, 8]
    assert d["layers"][0]["kind"] == "conv"
    d = run_json("overlap", "--gradient", "-k", "3", "-s", "2", "-p", "1", "-i", "16")
    assert d["ratio_2d"] == 4 and sorted(d["pattern"]["y"]) == [1, 2]


def test_presets_json() -> None:
    d = run_json("overlap", "--preset", "cyclegan")
    assert d["ratio_1d"]["y"] == pytest.approx(17 / 15)
    assert [layer["spec"] for layer in d["layers"]] == [
        "deconv k3 s2 p1 op1",
        "deconv k3 s2 p1 op1",
        "conv k7 p3 reflect",
    ]
    assert d["layers"][0]["ratio_2d"] == 4 and d["layers"][1]["ratio_2d"] == 9


def test_json_is_pure_on_stdout() -> None:
    p = cli("overlap", "--preset", "dcgan", "--format", "json")
    assert p.returncode == 0 and p.stderr == ""
    assert json.loads(p.stdout)["even"] is True


# ---------------------------------------------------------------------------------------------
# --check, --png
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["-k", "3", "-s", "2"], 1),
        (["-k", "4", "-s", "2", "-p", "1"], 0),
        (["-k", "1", "-s", "2"], 1),
        (["--preset", "dcgan"], 0),
        (["--preset", "cyclegan"], 1),
        (["--layers", "deconv k3 s2, deconv k4 s2"], 0),
    ],
)
def test_check_exit_codes(args: list[str], code: int) -> None:
    p = cli("overlap", *args, "--check", "--format", "json")
    assert p.returncode == code, p.stderr
    json.loads(p.stdout)  # the report is still printed


def test_png_is_written_and_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    res = run("overlap", "-k", "3", "-s", "2", "--png", str(out))
    assert res.exit_code == 0 and out.exists()
    img = Image.open(out)
    assert img.format == "PNG" and img.size[0] >= 400
    # the rendered cells show the checkerboard: sample the centres of two interior cells
    before = out.read_bytes()
    p = cli("overlap", "-k", "4", "-s", "2", "--png", str(out))
    assert p.returncode == 2 and "exists" in p.stderr and "--force" in p.stderr
    assert out.read_bytes() == before
    p = cli("overlap", "-k", "4", "-s", "2", "--png", str(out), "--force")
    assert p.returncode == 0 and out.read_bytes() != before


def test_png_colours_follow_the_map(tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    assert run("overlap", "-k", "3", "-s", "2", "-i", "4", "--png", str(out)).exit_code == 0
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    # cells of value 4 (max, yellow) and 1 (min, dark) in the interior: rows/cols 2 and 1
    from cbdiag.render.overlap_png import TARGET_PX

    cell = TARGET_PX // 9

    def centre(r: int, c: int) -> np.ndarray:
        return img[64 + r * cell + cell // 4, 16 + c * cell + cell // 4]

    bright, dark = centre(2, 2), centre(1, 1)
    assert bright.sum() > dark.sum() + 200
    assert not (bright[0] == bright[1] == bright[2])  # interior is coloured
    border = centre(0, 0)
    assert border[0] == border[1] == border[2]  # border is grey


def test_png_json_reports_path(tmp_path: Path) -> None:
    out = tmp_path / "j.png"
    d = run_json("overlap", "-k", "3", "-s", "2", "--png", str(out))
    assert d["png"] == str(out) and out.exists()


def test_png_into_missing_directory(tmp_path: Path) -> None:
    p = cli("overlap", "-k", "3", "-s", "2", "--png", str(tmp_path / "nope" / "x.png"))
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_large_map_png(tmp_path: Path) -> None:
    out = tmp_path / "big.png"
    res = run("overlap", "--preset", "pix2pixhd", "-i", "64", "--png", str(out))
    assert res.exit_code == 0
    assert Image.open(out).size[0] < 1200  # a window, not a 1024-cell picture


# ---------------------------------------------------------------------------------------------
# bad input: one line, exit 2
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-k", "0", "-s", "2"], "kernel must be >= 1"),
        (["-k", "-3", "-s", "2"], "kernel must be >= 1"),
        (["-k", "3", "-s", "0"], "stride must be >= 1"),
        (["-k", "3", "-s", "-1"], "stride must be >= 1"),
        (["-k", "3", "-s", "2", "--output-padding", "2"], "output padding 2 must be smaller"),
        (["-k", "abc", "-s", "2"], "--kernel must be an integer"),
        (["-s", "2"], "--stride needs --kernel"),
        (["--layers", "conv k5, conv k5", "-i", "6"], "shrinks to nothing"),
        (["--layers", "wibble k3"], "unknown layer kind"),
        (["--preset", "nope"], "unknown preset"),
        (["--preset", "dcgan", "-k", "3"], "give one layer description"),
        (["-k", "3", "-s", "2", "-i", "0"], "input size must be >= 1"),
        (["-k", "3", "-s", "2", "-i", "99999999"], "absurdly large"),
        (["-k", "9999", "-s", "2"], "absurdly large"),
        (["--layers", "60x nearest x2"], "absurdly large"),
        (["--layers", "deconv k1024 s256 d256"], "too large to analyse"),
        (["-k", "3", "-s", "2", "--framework", "tf", "-p", "1"], "PyTorch options"),
        (
            ["-k", "3", "-s", "2", "--framework", "torch", "--tf-padding", "same"],
            "needs --framework tf",
        ),
        (["--gradient", "-k", "3", "-s", "2", "--output-padding", "1"], "not --gradient"),
        (["-k", "3", "-s", "2", "--format", "xml"], "xml"),
        ([], "Usage"),
    ],
)
def test_bad_input_one_line_exit_2(args: list[str], fragment: str) -> None:
    p = cli("overlap", *args)
    if not args:  # bare subcommand shows its help
        assert p.returncode == 0 and fragment in p.stdout
        return
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_console_script_is_installed() -> None:
    """The ``cbdiag`` entry point next to this interpreter (the install put it there)."""
    exe = Path(sys.executable).with_name("cbdiag")
    if not exe.exists():
        if os.environ.get("CI"):
            pytest.fail("the cbdiag console script is missing in CI")
        pytest.skip("cbdiag is not installed as a console script in this environment")
    p = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and __version__ in p.stdout
