"""``cbdiag score`` row by row: json-lines and csv as images finish, --output, --files-from,
--order, --resume and its refusals."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cbdiag.report.score import csv_columns


def cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", "score", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        input=stdin,
        timeout=300,
        cwd=cwd,
    )


def _images(d: Path, n: int, side: int = 96) -> list[Path]:
    rng = np.random.default_rng(5)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        a = rng.normal(128, 10, (side, side))
        if i % 2 == 0:
            a += 4 * np.tile([[1, -1], [-1, 1]], (side // 2, side // 2))
        p = d / f"{i:03d}.png"
        Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_rows_are_the_json_documents_results(tmp_path: Path) -> None:
    _images(tmp_path / "d", 5)
    (tmp_path / "d" / "x.png").write_bytes(b"junk")
    doc = cli(str(tmp_path / "d"), "--format", "json", "--pooled")
    lines = cli(str(tmp_path / "d"), "--format", "json-lines", "--pooled")
    assert doc.returncode == lines.returncode == 2  # x.png is unreadable
    d, rows = json.loads(doc.stdout), _jsonl(lines.stdout)
    head = rows[0]
    assert (head["tool"], head["command"], head["format"]) == ("cbdiag", "score", "json-lines")
    assert head["threshold"] == d["threshold"] and head["min_amplitude"] == d["min_amplitude"]
    assert rows[1:-1] == d["results"]
    assert rows[-1] == {"pooled": d["pooled"]}


def test_csv_has_a_column_for_every_searched_period(tmp_path: Path) -> None:
    _images(tmp_path / "d", 3, side=64)  # too small for period 32: its columns stay empty
    p = cli(str(tmp_path / "d"), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert list(rows[0]) == csv_columns(None)
    assert rows[0]["period_32"] == "" and float(rows[0]["period_2"]) > 0
    assert [Path(r["path"]).name for r in rows] == ["000.png", "001.png", "002.png"]


def test_rows_reach_a_pipe_before_the_run_ends(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 60, side=384)
    p = subprocess.Popen(
        [sys.executable, "-m", "cbdiag", "score", str(tmp_path / "d"), "-f", "json-lines"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    first = [p.stdout.readline(), p.stdout.readline()]
    assert p.poll() is None, "the first row arrived before the last image was scored"
    rest, _ = p.communicate(timeout=300)
    assert json.loads(first[1])["path"] == str(files[0])
    assert len(_jsonl(rest)) == len(files) - 1


def test_files_from_a_listing_and_completion_order(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 6)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{f}\n" for f in files) + f"{tmp_path / 'gone.png'}\n")
    p = cli("--files-from", str(listing), "-f", "json-lines", "--order", "completion", "-j", "2")
    assert p.returncode == 2
    rows = _jsonl(p.stdout)[1:]
    assert sorted(r["path"] for r in rows) == sorted([*map(str, files), str(tmp_path / "gone.png")])
    gone = next(r for r in rows if r["path"].endswith("gone.png"))
    assert "no such file" in gone["error"].lower()
    q = cli("--files-from", "-", "-f", "csv", stdin=f"{files[0]}\n{files[1]}\n")
    assert [r["path"] for r in csv.DictReader(io.StringIO(q.stdout))] == [
        str(files[0]),
        str(files[1]),
    ]


def test_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    _images(tmp_path / "d", 2)
    out = tmp_path / "out.csv"
    out.write_text("mine\n")
    p = cli(str(tmp_path / "d"), "-f", "csv", "-o", str(out))
    assert p.returncode == 2 and "--resume" in p.stderr and out.read_text() == "mine\n"
    p = cli(str(tmp_path / "d"), "-f", "csv", "-o", str(out), "--force")
    assert p.returncode == 1 and out.read_text().startswith("path,score,")
    t = cli(str(tmp_path / "d"), "-o", str(tmp_path / "table.txt"))
    assert t.returncode == 1 and t.stdout == ""
    assert "000.png" in (tmp_path / "table.txt").read_text()


def test_resume_appends_only_what_is_missing(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 6)
    full = cli(str(tmp_path / "d"), "-f", "csv")
    lines = full.stdout.splitlines(keepends=True)
    out = tmp_path / "out.csv"
    out.write_text("".join(lines[:3]) + lines[3][:10])  # two rows and a cut one
    p = cli(str(tmp_path / "d"), "-f", "csv", "--resume", str(out))
    assert p.returncode == 1, p.stderr
    assert "2 rows were already in" in p.stderr
    assert "flagged 3" in p.stderr  # the summary counts the rows written before too
    assert out.read_text() == full.stdout
    again = cli(str(tmp_path / "d"), "-f", "csv", "--resume", str(out))
    assert again.returncode == 1 and out.read_text() == full.stdout
    assert f"{len(files)} rows were already in" in again.stderr


def test_resume_of_a_file_not_there_starts_from_the_beginning(tmp_path: Path) -> None:
    _images(tmp_path / "d", 2)
    out = tmp_path / "new.jsonl"
    p = cli(str(tmp_path / "d"), "-f", "json-lines", "--resume", str(out))
    assert p.returncode == 1 and len(_jsonl(out.read_text())) == 3


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, ["-f", "json"], "give --format csv or --format json-lines"),
        ("path,score\n", [], "its columns are not those this run writes"),
        (None, ["--stride", "4"], "its columns are not those this run writes"),
        ("not json\n", ["-f", "json-lines"], "line 1 is not JSON"),
        ('{"tool": "x"}\n', ["-f", "json-lines"], "not the settings line"),
        ("json-min", ["-f", "json-lines", "-a", "2"], "written with --min-amplitude 0.1"),
        (None, ["--pooled"], "pooled statistics of its rows"),
    ],
)
def test_resume_refuses_a_file_it_cannot_go_on_with(
    tmp_path: Path, content: str | None, extra: list[str], message: str
) -> None:
    _images(tmp_path / "d", 2)
    out = tmp_path / "out"
    if content is None:
        out.write_text(cli(str(tmp_path / "d"), "-f", "csv").stdout)
    elif content == "json-min":
        out.write_text(cli(str(tmp_path / "d"), "-f", "json-lines").stdout)
    else:
        out.write_text(content)
    before = out.read_bytes()
    args = ["-f", "csv", *extra] if "-f" not in extra else extra
    p = cli(str(tmp_path / "d"), *args, "--resume", str(out))
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == before


def test_interrupted_run_says_how_to_go_on_and_resumes_whole(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 80, side=384)
    out = tmp_path / "out.csv"
    args = ["score", str(tmp_path / "d"), "-f", "csv", "--pooled"]
    p = subprocess.Popen(
        [sys.executable, "-m", "cbdiag", *args, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 6:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)  # as a CI runner stops a job
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and f"--resume {out}" in err, err
    r = cli(*args[1:], "--resume", str(out))
    assert r.returncode == 1, r.stderr
    whole = cli(*args[1:])
    assert out.read_text() == whole.stdout  # the same rows, in input order, and the same pool
    assert len(files) == len(list(csv.DictReader(io.StringIO(whole.stdout)))) - 1


def test_stdin_read_once(tmp_path: Path) -> None:
    p = cli("-", "--files-from", "-", stdin="")
    assert p.returncode == 2 and "stdin can be read once" in p.stderr


def test_dask_and_jobs_together_are_refused(tmp_path: Path) -> None:
    p = cli(str(tmp_path), "--dask", "local", "--jobs", "2")
    assert p.returncode == 2 and "give one" in p.stderr


def test_a_listing_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "typo.csv"
    p = cli("--files-from", str(tmp_path / "nosuch.txt"), "-f", "csv", "-o", str(out))
    assert p.returncode == 2 and "--files-from" in p.stderr and "no such file" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not out.exists()


def test_resume_of_csv_checks_the_settings_kept_beside_it(tmp_path: Path) -> None:
    _images(tmp_path / "d", 3)
    out = tmp_path / "r.csv"
    assert cli(str(tmp_path / "d"), "-f", "csv", "-o", str(out)).returncode == 1
    assert (tmp_path / "r.csv.cbdiag.npz").exists()
    before = out.read_bytes()
    p = cli(str(tmp_path / "d"), "-f", "csv", "-a", "5", "--resume", str(out))
    assert p.returncode == 2 and "written with --min-amplitude 0.1, this run has 5.0" in p.stderr
    p = cli(str(tmp_path / "d"), "-f", "json-lines", "--resume", str(out))
    assert p.returncode == 2 and "written with --format csv" in p.stderr
    assert out.read_bytes() == before


def test_a_new_output_does_not_inherit_an_old_runs_pool(tmp_path: Path) -> None:
    _images(tmp_path / "a", 2)
    _images(tmp_path / "b", 4)
    out = tmp_path / "o.jsonl"
    assert cli(str(tmp_path / "a"), "-f", "json-lines", "--pooled", "-o", str(out)).returncode
    p = cli(str(tmp_path / "b"), "-f", "json-lines", "--pooled", "-o", str(out), "--force")
    assert p.returncode == 1
    r = cli(str(tmp_path / "b"), "-f", "json-lines", "--pooled", "--resume", str(out))
    assert r.returncode == 1 and "4 rows were already in" in r.stderr
    assert _jsonl(out.read_text())[-1]["pooled"]["n_images"] == 4


def _children(pid: int) -> list[int]:
    """The pool's worker processes of ``pid`` (forked: the same command line), once both are
    there."""
    import psutil

    me = psutil.Process(pid)
    try:
        found = [c.pid for c in me.children() if c.cmdline() == me.cmdline()]
    except psutil.Error:
        return []
    return found if len(found) >= 2 else []


def test_jobs_a_killed_worker_and_ctrl_c_to_the_group(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 40, side=1024)
    out = tmp_path / "o.csv"
    cmd = [sys.executable, "-m", "cbdiag", "score", str(tmp_path / "d"), "-f", "csv", "-j", "2"]
    p = subprocess.Popen([*cmd, "-o", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and _children(p.pid)):
        time.sleep(0.01)
    os.kill(_children(p.pid)[-1], signal.SIGKILL)  # a pool worker dies mid-run
    _, err = p.communicate(timeout=180)  # the pool is started again and the command exits
    assert p.returncode == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["path"] for r in rows) == sorted(map(str, files))
    assert all(r["error"] == "" for r in rows)
    # Ctrl-C reaches the whole process group: the workers leave it to the command
    q = subprocess.Popen(
        [*cmd, "-o", str(tmp_path / "q.csv")],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    while not ((tmp_path / "q.csv").exists() and _children(q.pid)):
        time.sleep(0.01)
    os.killpg(q.pid, signal.SIGINT)
    _, err = q.communicate(timeout=120)
    assert q.returncode == 130 and len(err.strip().splitlines()) == 1, err
