"""The checkerboard detector on constructed images, real photos, every format, and bad files."""

from __future__ import annotations

import io
import itertools
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cbdiag import score_image
from cbdiag.errors import CbdiagError
from cbdiag.images import ImageReadError, jpeg_quality, load_image
from cbdiag.spectrum import ImageTooSmallError, candidates

DATA = Path(__file__).parent / "data"
RNG = np.random.default_rng(0)


def noise(h: int = 256, w: int = 256, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w)).astype(np.float32)


def pattern(h: int, w: int, period: int) -> np.ndarray:
    """A zero-mean periodic pattern with energy at every primitive frequency of ``period``:
    a random ``period x period`` tile repeated (what uneven per-phase gains paint)."""
    tile = np.random.default_rng(period).standard_normal((period, period))
    tile -= tile.mean()
    tile /= np.abs(tile).max()
    return np.tile(tile, (h // period + 1, w // period + 1))[:h, :w].astype(np.float32)


# ---------------------------------------------------------------------------------------------
# candidates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("s", [2, 3, 4, 6, 8, 16])
def test_candidates_are_the_primitive_frequencies_up_to_conjugation(s: int) -> None:
    prim = {
        (a, b) for a in range(s) for b in range(s) if (a, b) != (0, 0) and math.gcd(a, b, s) == 1
    }
    classes = {frozenset({(a, b), ((-a) % s, (-b) % s)}) for a, b in prim}
    got = candidates(s)
    assert len(got) == len(classes) == len(set(got))
    assert {frozenset({(a, b), ((-a) % s, (-b) % s)}) for a, b in got} == classes


# ---------------------------------------------------------------------------------------------
# constructed images
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", [2, 4, 8, 16])
def test_planted_pattern_found_at_its_period_and_monotone_in_amplitude(period: int) -> None:
    rng = np.random.default_rng(period)
    base = 128 + rng.normal(0, 4.0, (384, 384))  # grey levels
    pat = pattern(384, 384, period)
    pat /= np.sqrt((pat[:period, :period] ** 2).mean())  # unit RMS
    amps, sigmas = [], []
    for a in (0.0, 0.05, 0.1, 0.3, 1.0, 3.0):
        r = score_image(((base + a * pat) / 255).astype(np.float32))
        amps.append(r.per_period_amplitude[period])
        sigmas.append(r.per_period_significance[period])
        if a == 0.0:
            assert not r.flagged and r.period is None
        if a >= 1.0:
            assert r.flagged and r.period == period, (a, r.period, r.per_period_significance)
            for pk in r.peaks[:3]:  # the strongest lines are harmonics k/period
                assert round(pk.fy * period) == pytest.approx(pk.fy * period)
                assert round(pk.fx * period) == pytest.approx(pk.fx * period)
    assert all(b >= a - 0.02 for a, b in itertools.pairwise(amps[2:])), amps
    assert all(b >= a for a, b in itertools.pairwise(sigmas[2:])), sigmas
    assert sigmas[-1] > 20


def test_diagonal_checkerboard_at_half_half() -> None:
    i, j = np.indices((256, 256))
    r = score_image(noise() + 0.3 * ((i + j) % 2))
    assert r.flagged and r.period == 2
    assert (r.peaks[0].fy, r.peaks[0].fx) == (0.5, 0.5)


def test_negatives_not_flagged() -> None:
    assert score_image(np.full((128, 128), 0.5, np.float32)).score == 0.0
    assert not score_image(noise(512, 512)).flagged
    # a large chessboard: 32-pixel squares
    i, j = np.indices((512, 512))
    chess = (((i // 32) + (j // 32)) % 2).astype(np.float32)
    assert not score_image(chess + 0.05 * noise(512, 512)).flagged
    for photo in ("coffee_256.png", "chelsea_256.jpg", "camera_256.png"):
        assert not score_image(DATA / photo).flagged, photo


def _look_alikes(img: Image.Image) -> list[tuple[str, Image.Image]]:
    """The classical operations a real image goes through, each rounded to 8 bits as files are."""
    w, h = img.size
    out: list[tuple[str, Image.Image]] = []
    for q in (75, 90, 95):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=q)
        out.append((f"jpeg q{q}", Image.open(io.BytesIO(buf.getvalue()))))
    for name in ("BILINEAR", "BICUBIC", "LANCZOS"):
        m = getattr(Image.Resampling, name)
        for f in (2.0, 0.5, 0.75):
            out.append((f"{name.lower()} x{f:g}", img.resize((round(w * f), round(h * f)), m)))
    near = Image.Resampling.NEAREST
    out.append(("nearest x2", img.resize((2 * w, 2 * h), near)))
    out.append(("nearest x3", img.resize((3 * w, 3 * h), near)))
    small = img.resize((w // 2, h // 2), Image.Resampling.BILINEAR)
    out.append(("down x0.5, nearest x2", small.resize((w, h), near)))
    return out


@pytest.mark.parametrize("photo", ["coffee_256.png", "chelsea_256.jpg", "camera_256.png"])
def test_resampled_and_recompressed_photos_are_not_flagged(photo: str) -> None:
    """Real photos through JPEG q >= 75, bilinear / bicubic / Lanczos up and down and nearest
    upscaling (rounded): real periodic patterns of a few hundredths of a grey level at most."""
    img = Image.open(DATA / photo).convert("RGB")
    for label, out in _look_alikes(img):
        r = score_image(np.asarray(out))
        assert not r.flagged, (photo, label, r.amplitude, r.significance, r.period)


def test_a_brick_texture_and_its_resamplings_are_not_flagged() -> None:
    img = Image.open(DATA / "brick_256.png")
    assert not score_image(np.asarray(img)).flagged
    for label, out in _look_alikes(img):
        r = score_image(np.asarray(out))
        assert not r.flagged, (label, r.amplitude, r.significance, r.period)


def test_sizes_not_divisible_by_the_period_and_odd_sizes() -> None:
    for h, w in ((509, 501), (257, 383), (100, 77)):
        pat = pattern(h, w, 2)
        r = score_image(noise(h, w) + 0.2 * pat)
        assert r.flagged and r.period == 2, (h, w)
        assert not score_image(noise(h, w, seed=3)).flagged


def test_stride_restricts_the_search() -> None:
    img = noise(384, 384) + 0.2 * pattern(384, 384, 4)
    r = score_image(img, stride=2)
    assert list(r.per_period) == [2]
    assert score_image(img, stride=4).period == 4
    r3 = score_image(noise(384, 384) + 0.2 * pattern(384, 384, 3), stride=3)
    assert r3.flagged and r3.period == 3  # any period from 2 to 32 on request
    for bad in (1, 33):
        with pytest.raises(CbdiagError):
            score_image(img, stride=bad)


def test_too_small() -> None:
    with pytest.raises(ImageTooSmallError):
        score_image(noise(31, 64))
    assert score_image(noise(32, 32)).score >= 0.0


def test_array_kinds() -> None:
    pat = 0.2 * pattern(256, 256, 2)
    base = noise() * 0.6 + 0.2 + pat
    u8 = np.round(base * 255).astype(np.uint8)
    u16 = np.round(base * 65535).astype(np.uint16)
    rgb = np.stack([u8, u8, u8], -1)
    rgba = np.concatenate([rgb, np.full((256, 256, 1), 255, np.uint8)], -1)
    for arr in (base, u8, u16, rgb, rgba):
        r = score_image(arr)
        assert r.flagged and r.period == 2, arr.dtype
    with pytest.raises(CbdiagError):
        score_image(np.zeros((64, 64, 2)))


def test_sub_grey_level_patterns_count_in_8_bit_images() -> None:
    """A 0.3-grey-level pattern (under half a level!) survives 8-bit rounding: the image's own
    noise dithers it, and it is measured and flagged; at 0.05 it is below --min-amplitude."""
    base = 128 + 2 * np.random.default_rng(1).standard_normal((512, 512))
    pat = pattern(512, 512, 2)
    pat /= np.sqrt((pat[:2, :2] ** 2).mean())
    weak = np.clip(np.round(base + 0.3 * pat), 0, 255).astype(np.uint8)
    r = score_image(weak)
    assert r.flagged and r.period == 2
    assert r.amplitude == pytest.approx(0.3, rel=0.15)
    faint = score_image(np.clip(np.round(base + 0.05 * pat), 0, 255).astype(np.uint8))
    assert not faint.flagged
    assert score_image(weak, min_amplitude=0.5).flagged is False


def test_off_grid_note_does_not_fire_on_an_on_grid_pattern() -> None:
    """A period-2 pattern that was never resized: its Hann leakage is not an off-grid peak."""
    base = 128 + 3 * np.random.default_rng(3).standard_normal((512, 512))
    i, j = np.indices((512, 512))
    img = np.clip(np.round(base + 20 * ((i + j) % 2) + 10 * (i % 2)), 0, 255).astype(np.uint8)
    r = score_image(img)
    assert r.flagged and r.period == 2
    assert not r.diagnostics["off_grid"]["flag"], r.diagnostics["off_grid"]


def test_stride_2_outputs_are_never_reported_at_period_3() -> None:
    r = score_image(noise(384, 384) + 0.2 * pattern(384, 384, 2))
    assert r.period == 2 and "3" not in r.as_dict()["per_period"]


# ---------------------------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------------------------


def _smooth(n: int) -> np.ndarray:
    f = np.fft.fftfreq(n)
    amp = 1.0 / np.maximum(np.hypot(f[:, None], f[None, :]), 1.0 / n)
    x = np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * np.random.default_rng(2).random((n, n)))))
    return ((x - x.min()) / (x.max() - x.min())).astype(np.float32)


def test_interpolated_upscale_is_diagnosed_not_scored() -> None:
    small = _smooth(192)
    up = np.asarray(Image.fromarray(small).resize((384, 384), Image.Resampling.BILINEAR))
    r = score_image(up)
    assert r.diagnostics["interpolated_upscale"]["flag"]
    assert r.diagnostics["interpolated_upscale"]["factor"] == 2
    assert not r.flagged


def test_nearest_upscale_factor() -> None:
    small = np.round(_smooth(128) * 255).astype(np.uint8)
    up = np.repeat(np.repeat(small, 3, 0), 3, 1)
    r = score_image(up)
    assert r.diagnostics["nearest_upscale"] == {"flag": True, "factor": 3}
    assert not r.flagged
    assert score_image(small).diagnostics["nearest_upscale"]["flag"] is False


def test_jpeg_quality_is_reported(tmp_path: Path) -> None:
    img = Image.fromarray(np.round(_smooth(256) * 255).astype(np.uint8))
    for q in (50, 75, 90):
        path = tmp_path / f"q{q}.jpg"
        img.save(path, quality=q)
        d = score_image(path).diagnostics["jpeg_grid"]
        assert d["jpeg_file"] and abs(d["quality_estimate"] - q) <= 1
        assert d["flag"] and d["rectified_period8"] is None  # the file says it is a JPEG


def test_jpeg_grid_of_a_decoded_jpeg_saved_as_png(tmp_path: Path) -> None:
    img = Image.fromarray(np.round(_smooth(512) * 255).astype(np.uint8))
    jpg = tmp_path / "q30.jpg"
    img.save(jpg, quality=30)
    png = tmp_path / "q30.png"
    Image.open(jpg).save(png)
    d = score_image(png).diagnostics["jpeg_grid"]
    assert not d["jpeg_file"] and d["rectified_period8"] > 0.3 and d["flag"]
    clean = tmp_path / "clean.png"
    img.save(clean)
    d = score_image(clean).diagnostics["jpeg_grid"]
    assert d["rectified_period8"] is not None and d["rectified_period8"] <= 0.3 and not d["flag"]


def test_jpeg_quality_inverts_libjpeg_tables() -> None:
    for q in (10, 50, 75, 95, 100):
        buf = io.BytesIO()
        Image.new("L", (16, 16)).save(buf, format="JPEG", quality=q)
        table = Image.open(io.BytesIO(buf.getvalue())).quantization[0]  # type: ignore[attr-defined]
        assert jpeg_quality(table) == q


def test_off_grid_peak_of_a_resized_checkerboard() -> None:
    i, j = np.indices((512, 512))
    board = noise(512, 512) + 0.5 * ((i + j) % 2)
    resized = np.asarray(
        Image.fromarray(board.astype(np.float32)).resize((640, 640), Image.Resampling.BILINEAR)
    )
    d = score_image(resized).diagnostics["off_grid"]
    assert d["flag"]
    fy, fx = (abs(v) for v in d["cycles_per_pixel"])
    # 1/2 cycle per pixel, stretched by 640/512, lands at 0.4 (no k/s bin)
    assert abs(fy - 0.4) < 0.02 and abs(fx - 0.4) < 0.02
    assert d["implied_period"] == pytest.approx(1 / math.hypot(fy, fx), rel=1e-3)


# ---------------------------------------------------------------------------------------------
# files: formats and bad input
# ---------------------------------------------------------------------------------------------


def _planted_u8(h: int = 256, w: int = 256) -> np.ndarray:
    base = noise(h, w) * 0.6 + 0.2 + 0.15 * pattern(h, w, 2)
    return np.round(np.clip(base, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("fmt", "mode", "ext"),
    [
        ("PNG", "L", "png"),
        ("PNG", "RGB", "png"),
        ("PNG", "RGBA", "png"),
        ("PNG", "P", "png"),
        ("PNG", "I;16", "png"),
        ("TIFF", "RGB", "tif"),
        ("BMP", "RGB", "bmp"),
        ("WEBP", "RGB", "webp"),
        ("JPEG", "RGB", "jpg"),
    ],
)
def test_formats_and_modes(tmp_path: Path, fmt: str, mode: str, ext: str) -> None:
    u8 = _planted_u8()
    if mode == "I;16":
        img = Image.fromarray(u8.astype(np.uint16) * 257)
    elif mode == "L":
        img = Image.fromarray(u8)
    else:
        img = Image.fromarray(np.stack([u8] * 3, -1)).convert(mode)
    path = tmp_path / f"x.{ext}"
    kwargs = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    img.save(path, format=fmt, **kwargs)
    loaded = load_image(path)
    assert loaded.shape == (256, 256)
    r = score_image(path)
    assert r.path == str(path)
    assert r.flagged and r.period == 2, (fmt, mode, r.score)


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty file"),
        (b"hello, not an image\n", "not an image"),
        ("truncated", "cannot decode"),
        ("bomb", "decompression bomb|over the limit"),
        ("tiny", "too small"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes | str, fragment: str) -> None:
    path = tmp_path / "bad.png"
    if content == "truncated":
        buf = io.BytesIO()
        Image.fromarray(_planted_u8()).save(buf, format="PNG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif content == "bomb":
        path.write_bytes(_png_header_only(100_000, 100_000))
    elif content == "tiny":
        Image.new("L", (20, 20)).save(path)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(CbdiagError, match=fragment) as info:
        score_image(path)
    assert "\n" not in str(info.value)


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="directory"):
        load_image(tmp_path)


def test_non_finite_pixels_are_refused() -> None:
    img = noise(128, 128)
    img[5, 5] = np.nan
    with pytest.raises(CbdiagError, match="NaN"):
        score_image(img)


def test_period_too_large_for_the_image() -> None:
    with pytest.raises(ImageTooSmallError):
        score_image(noise(40, 40), stride=16)


def test_a_pattern_modulated_by_the_content_keeps_its_period() -> None:
    """Uneven gains multiply the local content: the pattern's faint side lines on the finer
    lattices of periods 8..32 are significant but carry no energy of their own."""
    rng = np.random.default_rng(12)
    n = 512
    content = 40 + 180 * _smooth(n)
    tile = rng.standard_normal((4, 4))
    tile -= tile.mean()
    tile /= np.sqrt((tile**2).mean())
    pat = np.tile(tile, (n // 4, n // 4)) * 0.04 * content  # about 3 grey levels RMS
    img = np.clip(np.round(content + pat + rng.normal(0, 1, (n, n))), 0, 255).astype(np.uint8)
    r = score_image(img)
    assert r.flagged and r.period == 4, (r.period, r.per_period_significance)


def test_a_generator_with_five_stages_reports_period_32() -> None:
    """Energy at every level of a 2-2-2-2-2 stack: the longest period is the pattern's."""
    rng = np.random.default_rng(13)
    n = 512
    pat = np.zeros((32, 32))
    for k in (2, 4, 8, 16, 32):  # each stage adds its own lines
        t = rng.standard_normal((k, k))
        pat += np.tile(t - t.mean(), (32 // k, 32 // k))
    pat *= 2.0 / np.sqrt((pat**2).mean())
    img = 128 + np.tile(pat, (n // 32, n // 32)) + rng.normal(0, 2, (n, n))
    r = score_image(np.clip(np.round(img), 0, 255).astype(np.uint8))
    assert r.flagged and r.period == 32, (r.period, r.per_period_significance)
    assert r.amplitude == pytest.approx(2.0, rel=0.15)


def test_white_level_is_fixed_by_type_not_by_content() -> None:
    """8-bit 255, wider integers 65535, floats 1 (0..255 when a value exceeds 2): one pixel
    more or less does not change the scale."""
    rng = np.random.default_rng(21)
    i, j = np.indices((256, 256))
    grey = 60 + rng.normal(0, 2, (256, 256)) + 1.0 * ((i + j) % 2 - 0.5) * 2  # 1 grey level
    ref = score_image(grey / 255).amplitude
    assert ref == pytest.approx(1.0, rel=0.1)
    assert score_image(grey).amplitude == pytest.approx(ref, rel=1e-4)  # floats in 0..255
    dark = np.round(grey * 257).astype(np.int32)  # 16-bit values in an int32 array
    bright = dark.copy()
    bright[0, 0] = 65535
    assert score_image(dark).amplitude == pytest.approx(score_image(bright).amplitude, rel=0.02)
    assert score_image(dark).amplitude == pytest.approx(ref, rel=0.05)


def test_thin_images_are_scored() -> None:
    for h, w in ((32, 3000), (3000, 32), (48, 600), (64, 2000)):
        img = noise(h, w) * 0.5 + 0.25 + 0.05 * pattern(h, w, 2)
        r = score_image(img)
        assert r.flagged and r.period == 2, (h, w)
