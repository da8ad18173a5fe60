"""cbdiag demo: the report folder, its static page, determinism, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cbdiag.demo import run_demo
from cbdiag.errors import OutputExistsError

ROOT = Path(__file__).resolve().parent.parent


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.sections: list[str] = []
        self.scripts = 0
        self.captions = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"] or "")
        elif tag == "section":
            self.sections.append(a.get("id") or "")
        elif tag == "script":
            self.scripts += 1
        elif tag == "figcaption":
            self.captions += 1


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "report"
    run_demo(out, samples=ROOT / "samples")
    return out


def test_index_html_references_existing_images_and_has_every_section(report: Path) -> None:
    page = _Page()
    page.feed((report / "index.html").read_text())
    assert page.sections == ["summary", "overlap", "generate", "score", "lint", "weights"]
    assert page.scripts == 0
    assert len(page.images) >= 8 and page.captions == len(page.images)
    for src in page.images:
        assert not src.startswith(("/", "http")), src  # relative references only
        assert (report / src).is_file(), src


def test_demo_json_carries_the_story(report: Path) -> None:
    d = json.loads((report / "demo.json").read_text())
    assert (d["tool"], d["command"]) == ("cbdiag", "demo")
    assert not Path(d["samples"]).is_absolute()  # no machine paths in the report
    by = {o["layers"]: o for o in d["overlap"]}
    assert by["deconv k3 s2"]["ratio_2d"] == 4 and by["deconv k4 s2 p1"]["even"]
    assert by["4x deconv k3 s2 p1 op1, conv k7 p3 reflect"]["ratio_2d"] == pytest.approx(
        2.098, abs=1e-3
    )
    cols = {c["upsampler"]: c for c in d["generate"]["columns"]}
    assert cols["deconv k3 s2"]["flagged"] and cols["subpixel"]["flagged"]
    assert not cols["resize-nearest"]["flagged"] and not cols["subpixel-ICNR"]["flagged"]
    assert {s["image"]: s["flagged"] for s in d["score"]} == {
        "partial_artifact.png": True,
        "untrained_deconv_k3s2.png": True,
        "untrained_resize_nearest.png": False,
    }
    assert len(d["lint"]) == 11 and {f["code"] for f in d["lint"]} == {"CBD101", "CBD104"}
    assert [w["verdict"] for w in d["weights"]["layers"]] == ["imbalanced"] * 3 + ["balanced"]


def test_deterministic_and_never_overwrites(report: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputExistsError):
        run_demo(report, samples=ROOT / "samples")
    again = tmp_path / "again"
    run_demo(again, samples=ROOT / "samples")
    for f in sorted(report.iterdir()):
        assert (again / f.name).read_bytes() == f.read_bytes(), f.name
    run_demo(again, samples=ROOT / "samples", force=True)


def test_without_samples_the_page_says_so(tmp_path: Path) -> None:
    res = run_demo(tmp_path / "r", samples=tmp_path / "nowhere")
    page = _Page()
    page.feed((tmp_path / "r" / "index.html").read_text())
    assert page.sections == ["summary", "overlap", "generate", "score", "lint", "weights"]
    assert "No samples folder found" in (tmp_path / "r" / "index.html").read_text()
    assert res.sections["lint"] == [] and res.sections["weights"] is None


def test_cli(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "demo", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "index.html" in p.stdout and "FLAGGED" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "demo", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "--force" in p.stderr


def test_committed_report_is_what_the_demo_writes_anywhere(tmp_path: Path) -> None:
    """``samples/demo`` is byte for byte what ``cbdiag demo`` writes, run from any folder
    that has the samples (no absolute path, date or machine name in any file)."""
    where = tmp_path / "some" / "other place"
    where.mkdir(parents=True)
    (where / "samples").symlink_to(ROOT / "samples")
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "demo", "--out", "report"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=where,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    committed = ROOT / "samples" / "demo"
    names = sorted(f.name for f in committed.iterdir())
    assert sorted(f.name for f in (where / "report").iterdir()) == names
    regenerate = "regenerate it: cbdiag demo --out samples/demo --force (from the repository)"
    for name in names:
        new = (where / "report" / name).read_bytes()
        if name == "generators.png":
            # The untrained generators are float arithmetic through BLAS, whose kernels differ
            # between CPUs (AVX2, AVX-512): a value that lands on a half grey level can round
            # either way. Same picture, then: the same size, and at most one grey level apart
            # on at most one pixel in a thousand.
            a = _pixels(where / "report" / name)
            b = _pixels(committed / name)
            assert a.shape == b.shape, f"samples/demo/{name} differs in size; {regenerate}"
            off = np.abs(a.astype(np.int16) - b.astype(np.int16))
            assert off.max() <= 1 and (off > 0).mean() <= 1e-3, f"{name} differs; {regenerate}"
        else:
            assert new == (committed / name).read_bytes(), (
                f"samples/demo/{name} differs; {regenerate}"
            )
        assert str(tmp_path).encode() not in new and str(ROOT).encode() not in new, name


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_html_tables_read_yes_and_no(report: Path) -> None:
    page = (report / "index.html").read_text()
    assert "<td>True</td>" not in page and "<td>False</td>" not in page
    assert "<td>yes</td>" in page and "<td>no</td>" in page
    # the summary comes first, right after the introduction
    assert page.index('id="summary"') < page.index('id="overlap"')


def test_weights_figure_is_titled_by_file_name_and_wide_enough() -> None:
    from PIL import ImageDraw

    from cbdiag.render.fonts import font
    from cbdiag.render.weights_png import weights_png
    from cbdiag.weights import inspect_weights

    res = inspect_weights(ROOT / "samples" / "weights_dcgan_icnr.safetensors", stride=2)
    res.path = "/a/very/long/folder/name/that/would/not/fit/" + "x" * 200 + ".safetensors"
    long_name = weights_png(res)
    title = f"{'x' * 200}.safetensors: per-phase response to a constant input"
    need = ImageDraw.Draw(long_name).textlength(title, font=font(16))
    assert long_name.width >= need + 8  # the whole title is inside the picture
    res.path = "samples/weights_dcgan_icnr.safetensors"
    a = weights_png(res).tobytes()
    res.path = "/elsewhere/samples/weights_dcgan_icnr.safetensors"
    assert weights_png(res).tobytes() == a  # the folder is not in the picture


def test_overlap_figure_title_wraps_between_layers() -> None:
    """A long stack's title is wrapped between its layers, never cut short."""
    from PIL import ImageDraw

    from cbdiag.layers import parse_layers
    from cbdiag.overlap import overlap_map
    from cbdiag.render.fonts import font
    from cbdiag.render.overlap_png import _title_lines, render_png

    spec = "3x deconv k3 s2 p1 op1, conv k7 p3 reflect, 2x (nearest x2, conv k3 p1), blur 3"
    res = overlap_map(parse_layers(spec), 3)
    img = render_png(res)
    lines = _title_lines(f"overlap map: {spec}", font(18), img.width - 32)
    assert len(lines) == 2 and "…" not in "".join(lines)
    assert " ".join(" ".join(lines).split()) == f"overlap map: {spec}"
    draw = ImageDraw.Draw(img)
    assert all(draw.textlength(ln, font=font(18)) <= img.width - 32 for ln in lines)
    # the second title line takes 24 pixels more; a one-line title keeps the usual head
    assert render_png(res, title="overlap map: a short title").height == img.height - 24


def test_score_figures_are_titled_by_a_name_that_fits() -> None:
    """The spectrum and the map are titled with the file's name (never its folder), shortened
    in the middle when long, so the figures after it are whole and the title fits."""
    from PIL import ImageDraw

    from cbdiag.images import load_image, luminance
    from cbdiag.render.fonts import font
    from cbdiag.render.score_png import _named, map_png, spectrum_png
    from cbdiag.spectrum import score_image

    path = ROOT / "samples" / "partial_artifact.png"
    res = score_image(path, keep_spectrum=True, keep_tiles=True)
    loaded = load_image(path)
    grey = luminance(loaded.pixels, loaded.max_value)
    res.path = "/somewhere/deep/" + "generated_sample_" * 8 + "x.png"
    spec, tile_map = spectrum_png(res), map_png(res, grey)
    draw = ImageDraw.Draw(spec)
    what = ": local checkerboard score"
    title = _named(draw, res.path, what, font(16), tile_map.width - 8)
    assert "…" in title and title.endswith("x.png" + what) and "/" not in title
    assert draw.textlength(title, font=font(16)) <= tile_map.width - 8
    a = spectrum_png(res).tobytes()
    res.path = "/elsewhere/" + "generated_sample_" * 8 + "x.png"
    assert spectrum_png(res).tobytes() == a  # the folder is not in the picture


def test_compare_panel_captions_never_overlap() -> None:
    """Each column is as wide as its widest caption line: a narrow sample under a long
    sub-caption does not make neighbouring captions run into each other."""
    import numpy as np
    from PIL import ImageDraw

    from cbdiag.render.fonts import font
    from cbdiag.render.panel import compare_panel

    tiny = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    sub = "27.68 grey levels · phase 0.31"
    cols = [(f"upsampler {i}", sub, tiny) for i in range(4)]
    panel = compare_panel(cols, title="t", scale=1)
    draw = ImageDraw.Draw(panel)
    widest = max(draw.textlength(t, font=font(12)) for t in sub.split(" · "))
    widest = max(widest, draw.textlength("upsampler 0", font=font(14)))
    assert panel.width >= 4 * widest  # four columns, each holding its whole caption
    # the sub-caption is broken at its separator: no line holds both parts
    assert panel.width < 4 * draw.textlength(sub, font=font(12))
