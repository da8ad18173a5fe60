"""Text output in pipes, CI logs and terminals of every width: nothing is cut or split.

Each command runs piped with no ``COLUMNS`` (a CI log: every line whole), piped with
``COLUMNS`` 60, 80 and 120, and on a pseudo-terminal of those widths (colours on, stripped here).
At every width, no line is wider than the width, every value of the unlimited output is still
a whole word somewhere, and every quoted layer string stays on one line."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (60, 80, 120)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

COMMANDS = {
    "overlap-k3s2": ["overlap", "--kernel", "3", "--stride", "2"],
    "overlap-stack": ["overlap", "--layers", "2x deconv k3 s2 p1 op1, 2x (nearest x2, conv k3 p1)"],
    "overlap-1x1": ["overlap", "--preset", "dcgan", "--input-size", "1"],
    "overlap-onnx": ["overlap", "--model", "samples/decoder.onnx"],
    "presets": ["overlap", "--list-presets"],
    "score": [
        "score",
        "samples/untrained_deconv_k3s2.png",
        "samples/partial_artifact.png",
        "tests/data/chelsea_256.jpg",
        "tests/data/camera_256.png",
        "--pooled",
    ],
    "inspect": ["inspect", "samples/weights_decoder_torch.safetensors"],
    "inspect-source": [
        "inspect",
        "samples/weights_decoder_torch.safetensors",
        "--source",
        "samples/decoder_model.py",
    ],
    "inspect-onnx": ["inspect", "samples/decoder.onnx"],
    "probe": ["probe", "samples/decoder.onnx"],
}


def _env(columns: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


def piped(args: list[str], columns: int | None) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(columns),
        timeout=300,
    )
    assert p.returncode in (0, 1), p.stderr
    assert "\x1b[" not in p.stdout  # no colour in a pipe
    return p.stdout


def on_terminal(args: list[str], columns: int) -> str:
    """stdout of the command on a pseudo-terminal ``columns`` wide (stderr piped)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cbdiag", *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=_env(None),
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            proc.kill()
            raise AssertionError("the command did not finish")
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) in (0, 1), proc.stderr.read() if proc.stderr else ""
    text = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    return ANSI.sub("", text)


def _without_map(text: str) -> str:
    """The text without an overlap heatmap: a window whose extent depends on the width (the
    window it shows is stated under it, and checked by the overlap tests)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(("overlap map", "gradient map")):
        return text
    head = lines.index("")  # the title, wrapped or not, then a blank line, then the map
    end = next(i for i, ln in enumerate(lines) if ln.startswith("border ("))
    return "\n".join(lines[:head] + lines[end:])


def _words(text: str) -> set[str]:
    return {w.strip(",;:()") for w in _without_map(text).split()} - {""}


def _quoted(text: str) -> set[str]:
    return set(re.findall(r"(?<!\w)'[^'\n]+'(?!\w)", " ".join(text.split("\n"))))


#: headers a record shows without their name: the first column (its value heads the record)
#: and the flags (ok, FLAGGED, imbalanced are enough)
BARE = {"flag", "verdict", "layer", "path", "preset", "probe", "#", "-"}


def check(full: str, narrow: str, width: int, what: str) -> None:
    lines = narrow.splitlines()
    too_wide = [ln for ln in lines if len(ln) > width]
    assert not too_wide, f"{what}: lines over {width} columns: {too_wide}"
    missing = _words(full) - _words(narrow) - BARE
    assert not missing, f"{what}: values cut or lost at width {width}: {sorted(missing)}"
    for q in _quoted(full):  # a quoted layer string is one value: on one line
        assert any(q in ln for ln in lines), f"{what}: {q} split at width {width}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_survives_every_width(name: str) -> None:
    args = COMMANDS[name]
    full = piped(args, None)
    assert full.strip()
    for line in full.splitlines():  # a CI log: no line was broken to fit a width
        assert not line.endswith(("-", ",")) or line.strip() in ("-",), line
    wide_terminal = on_terminal(args, 2000)  # a terminal draws the map's border in colour
    for width in WIDTHS:
        check(full, piped(args, width), width, f"{name} piped")
        check(wide_terminal, on_terminal(args, width), width, f"{name} on a terminal")


def test_score_table_is_whole_in_a_pipe() -> None:
    """No COLUMNS in a pipe: every row on one line, however wide, the score in full."""
    out = piped(COMMANDS["score"], None)
    head, *rows = out.splitlines()
    assert head.split() == ["path", "flag", "period", "amplitude", "sigma", "score", "notes"]
    row = next(r for r in rows if r.startswith("tests/data/chelsea_256.jpg"))
    assert re.search(r"\s0\.\d\d\s+JPEG q~\d+$", row), row
    assert "…" not in out


def test_narrow_table_becomes_records() -> None:
    out = piped(COMMANDS["score"], 60)
    lines = out.splitlines()
    i = lines.index("samples/untrained_deconv_k3s2.png")
    assert lines[i + 1].split()[0] == "FLAGGED" and "amplitude:" in lines[i + 1]


@pytest.mark.parametrize("command", [[], ["overlap"], ["score"], ["inspect"], ["lint"], ["demo"]])
def test_help_reads_well_at_every_width(command: list[str]) -> None:
    for width in WIDTHS:
        out = piped([*command, "--help"], width)
        assert "╭" not in out
        assert not re.search(r"<[a-z|\[\]]+>", out), out  # no typer placeholders (<str>, <bool>)
        for line in out.splitlines():
            assert len(line) <= width or " " not in line.strip(), (width, line)
            # never broken after a hyphen inside a word (--input-⏎size)
            assert not re.search(r"[A-Za-z]-$", line), (width, line)
    if command == ["lint"]:
        assert "[tool.cbdiag.lint]" in " ".join(piped(["lint", "--help"], 80).split())


def test_wide_characters_keep_columns_aligned() -> None:
    """A name with East Asian characters (two terminal columns each) is padded by the columns
    it takes, not by its number of characters."""
    import unicodedata

    from cbdiag.render.layout import Column, table

    def columns_of(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    rows = [["photo 日本語.png", "FLAGGED", "32"], ["plain.png", "ok", "-"]]
    lines = table([Column("path"), Column("flag"), Column("period", right=True)], rows, 200)
    texts = ["".join(t for t, _ in line) for line in lines]
    starts = {
        columns_of(t[: t.index(flag)]) for t, flag in zip(texts[1:], ("FLAGGED", "ok"), strict=True)
    }
    assert len(starts) == 1, texts  # the flag column starts at the same terminal column
    assert len({columns_of(t) for t in texts}) == 1, texts  # right-aligned ends line up
