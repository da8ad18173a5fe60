"""``cbdiag score`` end to end: batches, formats, the CI gate, pictures, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(__file__).parent / "data"


def cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", "score", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
        cwd=cwd,
    )


def planted(path: Path, amp: float = 0.15) -> Path:
    rng = np.random.default_rng(0)
    tile = rng.standard_normal((2, 2))
    tile -= tile.mean()
    base = rng.random((256, 256)) * 0.6 + 0.2 + amp * np.tile(tile / np.abs(tile).max(), (128, 128))
    Image.fromarray(np.round(np.clip(base, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    planted(tmp_path / "sub" / "fake.png")
    Image.open(DATA / "coffee_256.png").save(tmp_path / "real.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_json_contract_and_exit_1_when_flagged(folder: Path) -> None:
    p = cli(str(folder), "--format", "json")
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    assert (d["tool"], d["command"], d["threshold"]) == ("cbdiag", "score", 0.0)
    assert (d["min_amplitude"], d["min_significance"]) == (0.1, 5.0)
    assert "pooled" not in d
    by = {Path(r["path"]).name: r for r in d["results"]}
    assert set(by) == {"fake.png", "real.png"}  # the .txt is not an image extension
    fake, real = by["fake.png"], by["real.png"]
    for r in (fake, real):
        for key in (
            "path",
            "score",
            "flagged",
            "period",
            "amplitude",
            "significance",
            "log10_p",
            "per_period",
            "per_period_amplitude",
            "per_period_significance",
            "explained_by",
            "peaks",
            "diagnostics",
            "error",
        ):
            assert key in r
        assert r["error"] is None
        assert set(r["per_period"]) == {"2", "4", "8", "16", "32"}
        assert set(r["per_period_amplitude"]) == set(r["per_period"])
    assert fake["flagged"] and fake["period"] == 2 and fake["score"] > 0.5
    assert fake["amplitude"] > 10 and fake["significance"] > 20
    assert not real["flagged"]
    assert fake["peaks"][0]["period"] == 2
    assert p.stderr.strip() == "scored 2, flagged 1, unreadable 0"


def test_clean_batch_exits_0(folder: Path) -> None:
    p = cli(str(folder / "real.png"))
    assert p.returncode == 0 and "real.png" in p.stdout and "ok" in p.stdout


def test_threshold_and_fail_above(folder: Path) -> None:
    fake = str(folder / "sub" / "fake.png")
    assert cli(fake, "--fail-above", "100").returncode == 0
    assert cli(fake, "--threshold", "0.1").returncode == 1
    p = cli(fake, "--threshold", "0.1", "--fail-above", "0.2")
    assert p.returncode == 2 and "disagree" in p.stderr


def test_batch_goes_on_past_bad_files_and_exits_2(folder: Path) -> None:
    (folder / "empty.png").write_bytes(b"")
    (folder / "bad.png").write_text("nope")
    missing = folder / "missing.png"
    p = cli(str(folder), str(missing), "--format", "json")
    assert p.returncode == 2
    d = json.loads(p.stdout)
    errors = {Path(r["path"]).name: r["error"] for r in d["results"] if r["error"]}
    assert set(errors) == {"empty.png", "bad.png", "missing.png"}
    assert all("\n" not in e for e in errors.values())
    scored = [r for r in d["results"] if not r["error"]]
    assert len(scored) == 2 and any(r["flagged"] for r in scored)
    assert "scored 2, flagged 1, unreadable 3" in p.stderr
    assert "Traceback" not in p.stderr


def test_glob_and_recursion(folder: Path) -> None:
    d = json.loads(cli(str(folder), "--glob", "fake*", "--format", "json").stdout)
    assert [Path(r["path"]).name for r in d["results"]] == ["fake.png"]


def test_stdin_list(folder: Path) -> None:
    names = f"{folder / 'real.png'}\n{folder / 'sub' / 'fake.png'}\n"
    p = cli("-", "--format", "json", stdin=names)
    assert [Path(r["path"]).name for r in json.loads(p.stdout)["results"]] == [
        "real.png",
        "fake.png",
    ]


def test_directory_without_images(tmp_path: Path) -> None:
    p = cli(str(tmp_path))
    assert p.returncode == 2 and "no images found" in p.stdout + p.stderr


def test_csv(folder: Path) -> None:
    p = cli(str(folder), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert [Path(r["path"]).name for r in rows] == ["real.png", "fake.png"]
    fake = rows[1]
    assert fake["flagged"] == "True" and fake["period"] == "2" and fake["peak_frequency"]
    assert float(fake["score"]) == pytest.approx(float(fake["period_2"]), abs=1e-3)


def test_jobs_give_the_same_results(folder: Path) -> None:
    for i in range(3):
        planted(folder / f"more{i}.png", amp=0.05 * i)
    one = json.loads(cli(str(folder), "--format", "json").stdout)["results"]
    two = json.loads(cli(str(folder), "--format", "json", "--jobs", "2").stdout)["results"]
    assert one == two


def test_pictures(folder: Path) -> None:
    fake = folder / "sub" / "fake.png"
    spec, mp = folder / "spec.png", folder / "map.png"
    p = cli(str(fake), "--spectrum", str(spec), "--map", str(mp))
    assert p.returncode == 1, p.stderr
    assert Image.open(spec).size[0] > 300 and Image.open(mp).size[0] >= 256
    before = spec.read_bytes()
    p = cli(str(fake), "--spectrum", str(spec))
    assert p.returncode == 2 and "exists" in p.stderr and spec.read_bytes() == before
    assert cli(str(fake), "--spectrum", str(spec), "--force").returncode == 1
    p = cli(str(folder), "--spectrum", str(folder / "x.png"))
    assert p.returncode == 2 and "exactly one image" in p.stderr


def test_map_shows_where_the_artifact_is(tmp_path: Path) -> None:
    """Left half planted, right half clean: the map is brighter (higher score) on the left."""
    rng = np.random.default_rng(3)
    img = rng.random((384, 384)) * 0.6 + 0.2
    img[:, :192] += 0.2 * np.tile([[1, -1], [-1, 1]], (192, 96))
    from cbdiag.spectrum import score_image

    r = score_image(np.clip(img, 0, 1).astype(np.float32), keep_tiles=True)
    ts = r.tile_scores
    assert ts is not None
    half = ts.shape[1] // 2
    assert ts[:, : half - 1].mean() > ts[:, half + 1 :].mean() + 0.5


def test_map_outlines_tiles_only_on_a_flagged_image() -> None:
    from cbdiag.render.score_png import LOCAL_OUTLINE, map_png
    from cbdiag.spectrum import score_image

    rng = np.random.default_rng(4)
    img = rng.random((256, 256)) * 0.6 + 0.2
    img[:, :128] += 0.03 * np.tile([[1, -1], [-1, 1]], (128, 64))  # local lines, 7.6 levels

    def red(res: object, grey: np.ndarray) -> int:
        px = np.asarray(map_png(res, grey))  # type: ignore[arg-type]
        return int(np.all(px == (230, 30, 30), axis=-1).sum())

    grey = np.clip(img, 0, 1).astype(np.float32)
    flagged = score_image(grey, keep_tiles=True)
    assert flagged.flagged and red(flagged, grey) > 0
    quiet = score_image(grey, keep_tiles=True, min_amplitude=100.0)  # same tiles, not flagged
    assert not quiet.flagged
    assert quiet.tile_scores is not None and quiet.tile_scores.max() > LOCAL_OUTLINE
    assert red(quiet, grey) == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "give image files"),
        (["x.png", "--jobs", "0"], "--jobs must be from 1 to 256"),
        (["x.png", "--stride", "1"], "--stride must be from 2 to 32"),
        (["x.png", "--min-amplitude", "-1"], "--min-amplitude must be a finite number >= 0"),
        (["x.png", "--min-significance", "nan"], "--min-significance must be"),
        (["x.png", "--format", "xml"], "xml"),
    ],
)
def test_usage_errors(args: list[str], fragment: str) -> None:
    p = cli(*args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_min_amplitude_gates_the_flag(folder: Path) -> None:
    fake = str(folder / "sub" / "fake.png")
    assert cli(fake).returncode == 1
    p = cli(fake, "--min-amplitude", "1000", "--format", "json")
    assert p.returncode == 0
    r = json.loads(p.stdout)["results"][0]
    assert not r["flagged"] and r["amplitude"] > 10


def samples(folder: Path, n: int, amp: float, seed: int = 0) -> Path:
    """``n`` 64x64 8-bit samples sharing a period-4 fixed pattern of ``amp`` grey levels RMS."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.random.default_rng(99).standard_normal((4, 4))
    t -= t.mean()
    pat = np.tile(t * amp / np.sqrt((t**2).mean()), (16, 16))
    from scipy.ndimage import gaussian_filter

    for k in range(n):
        field = gaussian_filter(rng.standard_normal((64, 64)), 3, mode="wrap")
        img = 128 + 25 * field / field.std() + rng.normal(0, 3, (64, 64)) + pat
        Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8)).save(folder / f"{k}.png")
    return folder


def test_pooled_finds_the_fixed_pattern_no_sample_shows(tmp_path: Path) -> None:
    d = samples(tmp_path / "gen", 96, 0.2)
    p = cli(str(d), "--pooled", "--format", "json")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert not any(r["flagged"] for r in doc["results"])
    pooled = doc["pooled"]
    assert pooled["flagged"] and pooled["n_images"] == 96 and pooled["period"] == 4
    assert 0.14 < pooled["amplitude"] < 0.26 and pooled["significance"] > 5
    for key in ("n_images", "amplitude", "significance", "period", "per_period", "flagged"):
        assert key in pooled
    assert set(pooled["per_period"]["4"]) >= {"amplitude", "significance"}
    assert "pooled FLAGGED" in p.stderr
    # the same pool with two processes: the same numbers
    p2 = cli(str(d), "--pooled", "--format", "json", "--jobs", "2")
    assert json.loads(p2.stdout)["pooled"] == pooled
    # text: the pooled row comes last; CSV: a last row too
    text = cli(str(d), "--pooled").stdout.strip().splitlines()
    assert "(pooled: 96 images)" in [ln for ln in text if ln.strip()][-2]
    rows = list(csv.reader(io.StringIO(cli(str(d), "--pooled", "--format", "csv").stdout)))
    assert rows[-1][0] == "(pooled: 96 images)" and rows[-1][2] == "True"


def test_pooled_clean_samples_exit_0(tmp_path: Path) -> None:
    d = samples(tmp_path / "clean", 96, 0.0)
    p = cli(str(d), "--pooled", "--format", "json")
    assert p.returncode == 0, p.stdout
    assert not json.loads(p.stdout)["pooled"]["flagged"]


def test_python_api_returns_a_dataclass() -> None:
    import cbdiag

    r = cbdiag.score_image(DATA / "camera_256.png")
    assert isinstance(r, cbdiag.ScoreResult)
    assert r.as_dict()["path"].endswith("camera_256.png") and not r.flagged


def test_dangling_symlink_in_a_folder_is_unreadable(tmp_path: Path) -> None:
    planted(tmp_path / "ok.png")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    p = cli(str(tmp_path), "--format", "json")
    assert p.returncode == 2
    errors = [r for r in json.loads(p.stdout)["results"] if r["error"]]
    assert [Path(r["path"]).name for r in errors] == ["gone.png"]


def test_piped_text_keeps_every_row_whole(tmp_path: Path) -> None:
    """Off a terminal and without COLUMNS, rows are printed at their full width."""
    d = tmp_path / ("a_folder_with_a_long_name_" * 3)
    d.mkdir()
    planted(d / "an_image_file_with_a_long_name_0001.png")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "score", str(d), "--pooled"],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=120,
    )
    assert p.returncode == 1
    lines = p.stdout.splitlines()
    row = next(ln for ln in lines if "0001.png" in ln)
    assert str(d / "an_image_file_with_a_long_name_0001.png") in row
    assert "FLAGGED" in row and "…" not in p.stdout
    assert any(ln.startswith("(pooled: 1 image) ") for ln in lines)


def test_csv_columns_follow_the_searched_periods(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    t = rng.standard_normal((3, 3))
    img = 128 + rng.normal(0, 2, (192, 192)) + 3 * np.tile(t - t.mean(), (64, 64))
    Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8)).save(tmp_path / "p3.png")
    p = cli(str(tmp_path / "p3.png"), "--stride", "3", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert p.returncode == 1 and rows[0]["period"] == "3"
    assert float(rows[0]["amplitude_3"]) > 2 and float(rows[0]["period_3"]) > 0
    assert "period_2" not in rows[0]


def test_pooled_verdict_only_from_periods_every_image_has(tmp_path: Path) -> None:
    """One large image with a period-32 pattern among small clean samples: period 32 pools
    one image only, so it does not make the pool's verdict."""
    d = samples(tmp_path / "mix", 60, 0.0)
    rng = np.random.default_rng(5)
    t = rng.standard_normal((32, 32))
    big = 128 + rng.normal(0, 2, (256, 256)) + 3 * np.tile(t - t.mean(), (8, 8))
    Image.fromarray(np.clip(np.round(big), 0, 255).astype(np.uint8)).save(d / "big.png")
    p = cli(str(d), "--pooled", "--format", "json")
    doc = json.loads(p.stdout)
    pooled = doc["pooled"]
    assert pooled["n_images"] == 61
    assert pooled["per_period"]["32"]["n_images"] == 1
    assert pooled["per_period"]["2"]["n_images"] == 61
    assert pooled["period"] != 32
    big_row = next(r for r in doc["results"] if r["path"].endswith("big.png"))
    assert big_row["flagged"] and big_row["period"] == 32  # the image itself is flagged


def test_json_significance_and_log10_p_agree(tmp_path: Path) -> None:
    from scipy.stats import norm

    path = planted(tmp_path / "weak.png", amp=0.012)  # a few grey levels in strong noise
    r = json.loads(cli(str(path), "--format", "json").stdout)["results"][0]
    assert r["period"] == 2 and -300 < r["log10_p"] < -7  # detected, p still representable
    assert r["significance"] == pytest.approx(-norm.ppf(10 ** r["log10_p"]), abs=0.05)


def test_an_unreadable_folder_is_reported_not_skipped() -> None:
    """A folder the user cannot search, and a file they cannot read, are error rows (exit 2),
    and the readable images are still scored. Run as an unprivileged user: root reads through
    any permission."""
    import shutil
    import tempfile

    from PIL import Image

    top = Path(tempfile.mkdtemp(prefix="cbdiag-perm-"))
    try:
        top.chmod(0o755)
        (top / "imgs" / "locked").mkdir(parents=True)
        rng = np.random.default_rng(0)
        for name in ("imgs/a.png", "imgs/locked/b.png", "imgs/secret.png"):
            Image.fromarray((rng.random((64, 64)) * 255).astype(np.uint8)).save(top / name)
            (top / name).chmod(0o644)
        (top / "imgs").chmod(0o755)
        (top / "imgs" / "locked").chmod(0o000)
        (top / "imgs" / "secret.png").chmod(0o000)

        cmd = [sys.executable, "-m", "cbdiag", "score", "imgs", "--format", "json"]
        if os.geteuid() == 0:  # as the unprivileged user "nobody"
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        p = subprocess.run(
            cmd,
            cwd=top,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=120,
        )
        assert p.returncode == 2, p.stderr
        rows = {r["path"]: r for r in json.loads(p.stdout)["results"]}
        assert rows["imgs/a.png"]["error"] is None and rows["imgs/a.png"]["score"] is not None
        assert "permission denied" in rows["imgs/locked"]["error"]
        assert "imgs/locked/b.png" not in rows
        assert rows["imgs/secret.png"]["error"] == "imgs/secret.png: permission denied"
    finally:
        (top / "imgs" / "locked").chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)


def test_html_report(folder: Path, tmp_path: Path) -> None:
    """--html: the report beside the usual output, every picture a relative file in the
    folder, flagged images with their spectrum and map, and no report over a used folder."""
    from html.parser import HTMLParser

    out = tmp_path / "report"
    bad = folder / "notes.png"
    bad.write_text("not an image")
    p = cli(
        str(folder / "sub" / "fake.png"),
        str(folder / "real.png"),
        str(bad),
        "--pooled",
        "--html",
        str(out),
        "--format",
        "json",
    )
    assert p.returncode == 2, p.stderr  # an unreadable file: exit 2, the rest reported
    assert json.loads(p.stdout)["command"] == "score"  # stdout is still the JSON

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.srcs: list[str] = []
            self.ids: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "img":
                self.srcs.append(a["src"] or "")
            if a.get("id"):
                self.ids.append(a["id"] or "")

    page = Page()
    text = (out / "index.html").read_text()
    page.feed(text)
    assert [i for i in page.ids if not i.startswith("flagged-")] == [
        "verdict",
        "flagged",
        "gallery",
        "table",
        "errors",
    ]
    assert page.ids.count("flagged-0") == 1 and "flagged-1" not in page.ids  # fake.png only
    assert (
        sorted(s.split("_")[0] for s in page.srcs)
        == ["img/map", "img/spectrum"] + ["img/thumb"] * 2
    )
    for src in page.srcs:
        assert not src.startswith(("/", "http")) and (out / src).is_file(), src
    assert "<script" not in text and "notes.png" in text and "FLAGGED" in text
    gallery = text.split('id="gallery"')[1].split("</section>")[0]
    assert gallery.index("fake.png") < gallery.index("real.png")  # highest score first
    # a folder that holds something is not written into without --force
    p = cli(str(folder / "real.png"), "--html", str(out))
    assert p.returncode == 2 and "--force" in p.stderr
    p = cli(str(folder / "real.png"), "--html", str(out), "--force")
    assert p.returncode == 0, p.stderr
    p = cli(str(folder / "real.png"), "--html", str(folder / "real.png"))
    assert p.returncode == 2 and "not a directory" in p.stderr


def test_a_file_given_twice_is_scored_and_pooled_once(tmp_path: Path) -> None:
    """The same clean photo three times (by its name, by a folder holding it, by another
    path) must not become a "fixed pattern the images share": it is one image."""
    (tmp_path / "d").mkdir()
    photo = tmp_path / "d" / "coffee.png"
    Image.open(DATA / "coffee_256.png").save(photo)
    other = tmp_path / "d" / "." / "coffee.png"
    p = cli(str(photo), str(other), str(tmp_path / "d"), "--pooled", "--format", "json")
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads(p.stdout)
    assert [r["path"] for r in d["results"]] == [str(photo)]
    assert d["pooled"]["n_images"] == 1 and not d["pooled"]["flagged"]
    assert "2 paths named a file already given" in p.stderr
