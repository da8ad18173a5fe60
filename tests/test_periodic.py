"""The periodic-component estimator: amplitudes in grey levels against planted patterns of
known RMS, the null distribution of the significance, pooling, and the lattice coefficients
against a brute-force per-phase computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cbdiag import score_image
from cbdiag.periodic import PhaseStats, estimate, gain, lattice_stats, pool
from cbdiag.spectrum import pool_results, score_pooled


def tile(period: int, rms: float, seed: int = 0) -> np.ndarray:
    """A zero-mean ``period x period`` tile with energy at every frequency of its period."""
    t = np.random.default_rng(seed + period).standard_normal((period, period))
    t -= t.mean()
    return t * (rms / math.sqrt(float((t**2).mean())))


def planted(h: int, w: int, period: int, rms: float, seed: int = 0) -> np.ndarray:
    t = tile(period, rms, seed)
    return np.tile(t, (h // period + 1, w // period + 1))[:h, :w]


def smooth(n: int, seed: int = 2) -> np.ndarray:
    """A 1/f ("natural-like") image in [0, 1]."""
    f = np.fft.fftfreq(n)
    amp = 1.0 / np.maximum(np.hypot(f[:, None], f[None, :]), 1.0 / n)
    phase = np.exp(2j * np.pi * np.random.default_rng(seed).random((n, n)))
    x = np.real(np.fft.ifft2(amp * phase))
    return (x - x.min()) / (x.max() - x.min())


def stats_of(img: np.ndarray, periods: tuple[int, ...]) -> dict[int, PhaseStats]:
    h, w = img.shape
    return lattice_stats(lambda a, b: img[a:b].astype(np.float32), h, w, periods)


# ---------------------------------------------------------------------------------------------
# amplitude in grey levels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("period", "rms"), [(2, 0.5), (2, 2.0), (4, 0.5), (8, 1.0), (16, 2.0)])
@pytest.mark.parametrize("bits", [8, 16])
def test_planted_amplitude_recovered_within_10_percent(period: int, rms: float, bits: int) -> None:
    """A pattern of known RMS (grey levels of 8-bit) on a natural-like image with noise, saved
    as 8-bit or 16-bit integers, is measured within 10 % at its period."""
    n = 512
    rng = np.random.default_rng(period)
    grey = 30 + 190 * smooth(n) + rng.normal(0, 1.0, (n, n)) + planted(n, n, period, rms)
    if bits == 8:
        img = np.clip(np.round(grey), 0, 255).astype(np.uint8)
    else:
        img = np.clip(np.round(grey * 257), 0, 65535).astype(np.uint16)
    r = score_image(img)
    assert r.flagged and r.period == period, (r.period, r.per_period_significance)
    # the tile's frequencies below about 1/10 cycle per pixel are not measured (their share
    # of a random tile's power is small at these periods)
    measured = estimate(
        PhaseStats(period, np.fft.fft2(tile(period, rms)), np.zeros((period, period)), 1)
    ).amplitude / (period * period)
    assert measured == pytest.approx(rms, rel=0.2)
    assert r.amplitude == pytest.approx(measured, rel=0.10)
    assert r.per_period_amplitude[period] == pytest.approx(r.amplitude)


def test_amplitude_is_in_8_bit_grey_levels_whatever_the_type() -> None:
    n = 256
    rng = np.random.default_rng(3)
    grey = 40 + 170 * smooth(n) + rng.normal(0, 1.0, (n, n)) + planted(n, n, 2, 1.0)
    u8 = np.clip(np.round(grey), 0, 255).astype(np.uint8)
    u16 = np.clip(np.round(grey * 257), 0, 65535).astype(np.uint16)
    f32 = (grey / 255).astype(np.float32)
    rgb = np.stack([u8] * 3, -1)
    amps = [score_image(x).amplitude for x in (u8, u16, f32, rgb)]
    assert all(a == pytest.approx(1.0, rel=0.1) for a in amps), amps


@pytest.mark.parametrize(("n", "tol"), [(128, 0.06), (512, 0.015)])
def test_lattice_coefficients_equal_the_dft_of_brute_force_phase_means(n: int, tol: float) -> None:
    """The lattice coefficients are the DFT of the per-phase sums computed with plain loops, up
    to the border correction: the periodic + smooth decomposition also sees the pattern's own
    jump across the borders, an error that falls as 1/n (about 4 % at 128 px, 1 % at 512)."""
    s = 4
    rng = np.random.default_rng(5)
    img = 100 + rng.normal(0, 2, (n, n)) + planted(n, n, s, 3.0)
    st = stats_of(img, (s,))[s]
    sums = np.zeros((s, s))
    for y in range(s):
        for x in range(s):
            sums[y, x] = sum(img[yy, xx] for yy in range(y, n, s) for xx in range(x, n, s))
    expected = np.fft.fft2(sums)
    expected[0, 0] = st.coef[0, 0] = 0  # DC is not a lattice line
    assert np.abs(st.coef - expected).max() < tol * np.abs(expected).max()
    assert st.pixels == n * n


def test_gain_is_the_box_residual_response() -> None:
    g = gain(4)
    f = np.array([0, 1, 2, -1]) / 4
    d5 = np.array([np.mean(np.cos(2 * np.pi * fi * np.arange(-2, 3))) for fi in f])
    assert np.allclose(g, 1 - d5[:, None] * d5[None, :])


# ---------------------------------------------------------------------------------------------
# significance under no pattern
# ---------------------------------------------------------------------------------------------


def test_significance_is_a_standard_normal_under_white_noise() -> None:
    rng = np.random.default_rng(11)
    zs = {s: [] for s in (2, 4, 8, 16)}
    for _ in range(80):
        st = stats_of(rng.normal(128, 5, (96, 96)), (2, 4, 8, 16))
        for s in zs:
            zs[s].append(estimate(st[s]).significance)
    for s, z in zs.items():
        arr = np.asarray(z)
        assert abs(arr.mean()) < 0.45, (s, arr.mean())
        assert 0.6 < arr.std() < 1.4, (s, arr.std())
        assert np.mean(arr > 3.0) <= 0.03, s


def test_natural_like_image_without_pattern_is_not_significant() -> None:
    img = np.clip(np.round(20 + 210 * smooth(512, seed=9)), 0, 255).astype(np.uint8)
    r = score_image(img)
    assert r.period is None and not r.flagged
    assert max(r.per_period_significance.values()) < 5


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------


def test_pooled_statistics_add_up_and_equal_the_sum_image() -> None:
    rng = np.random.default_rng(2)
    imgs = [rng.normal(100, 4, (64, 64)) + planted(64, 64, 2, 0.3) for _ in range(5)]
    parts = [stats_of(im, (2, 4)) for im in imgs]
    total = pool(parts)
    direct = stats_of(np.sum(imgs, axis=0), (2, 4))
    for s in (2, 4):
        assert total[s].n_images == 5 and total[s].pixels == 5 * 64 * 64
        assert np.allclose(total[s].coef, direct[s].coef, rtol=1e-4, atol=1e-2)


def test_pooled_noise_falls_as_one_over_sqrt_n() -> None:
    """The spread of the pooled estimate of a 0.3-grey-level fixed pattern, over repeated sets
    of n noisy 64x64 samples, shrinks by about sqrt(16) = 4 from n = 8 to n = 128, and the
    estimate stays within 5 % of the truth (the border correction costs about 1/n_pixels)."""
    est: dict[int, list[float]] = {8: [], 128: []}
    rng = np.random.default_rng(4)
    pat = planted(64, 64, 2, 0.3)
    for n in est:
        for _ in range(12):
            st = pool(stats_of(rng.normal(128, 6, (64, 64)) + pat, (2,)) for _ in range(n))
            est[n].append(estimate(st[2]).amplitude)
    sd = {n: float(np.std(e)) for n, e in est.items()}
    assert 2.5 < sd[8] / sd[128] < 7, sd
    assert np.mean(est[128]) == pytest.approx(0.3, rel=0.05)


def test_a_fixed_pattern_no_single_sample_shows_is_plain_in_the_pool() -> None:
    rng = np.random.default_rng(6)
    pat = planted(64, 64, 4, 0.4)
    samples = [
        np.clip(
            np.round(60 + 120 * smooth(64, seed=k) + rng.normal(0, 3, (64, 64)) + pat), 0, 255
        ).astype(np.uint8)
        for k in range(256)
    ]
    singles = [score_image(s) for s in samples[:32]]
    assert sum(r.flagged for r in singles) == 0
    p = score_pooled(samples)
    assert p.flagged and p.period == 4
    assert p.amplitude == pytest.approx(0.4, rel=0.25)
    assert p.n_images == 256
    # the same images without the pattern: not flagged
    clean = [
        np.clip(
            np.round(60 + 120 * smooth(64, seed=k) + rng.normal(0, 3, (64, 64))), 0, 255
        ).astype(np.uint8)
        for k in range(256)
    ]
    assert not score_pooled(clean).flagged


def test_pooling_images_of_different_sizes_aligns_them_at_the_top_left() -> None:
    rng = np.random.default_rng(8)
    imgs = []
    for k in range(40):
        h, w = 64 + 2 * (k % 5), 96 + 2 * (k % 3)  # even sizes: the phase grid lines up
        imgs.append((rng.normal(128, 4, (h, w)) + planted(h, w, 2, 0.25)) / 255)
    p = pool_results(score_image(im, diagnostics=False) for im in imgs)
    assert p.flagged and p.period == 2
    assert p.amplitude == pytest.approx(0.25, rel=0.25)


def test_a_content_line_beside_a_lattice_frequency_leaves_it_out() -> None:
    """A strong sinusoid of the content 1.3 bins from (1/2, 0) leaks into that lattice bin
    unevenly: the frequency is left out (no pixels behind it), not read as a pattern."""
    n = 256
    rng = np.random.default_rng(30)
    y = np.arange(n)[:, None]
    line = 40 * np.cos(2 * np.pi * (0.5 - 1.3 / n) * y) * np.ones((1, n))
    st = stats_of(128 + rng.normal(0, 2, (n, n)) + line, (2,))[2]
    assert st.weights()[1, 0] == 0 and st.weights()[0, 1] == n * n
    assert estimate(st).significance < 5


def test_a_pattern_on_part_of_the_image_keeps_its_frequencies() -> None:
    """A pattern on the left half only leaks into its own ring, but stays the strongest bin
    there: its frequencies are measured, and the amplitude is that of the image's per-phase
    means (half the pattern's, as it covers half the image)."""
    n = 256
    rng = np.random.default_rng(31)
    pat = planted(n, n, 2, 2.0)
    pat[:, n // 2 :] = 0
    st = stats_of(128 + rng.normal(0, 2, (n, n)) + pat, (2,))[2]
    assert (st.weights()[[0, 1, 1], [1, 0, 1]] == n * n).all()
    e = estimate(st)
    assert e.significance > 10
    assert e.amplitude == pytest.approx(1.0, rel=0.1)


def test_median_last_is_numpys_median_for_odd_and_even_rows() -> None:
    from cbdiag.periodic import median_last

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 80, 81):
        x = rng.random((5, 4, n))
        x[0, 0] = 1.0  # ties
        np.testing.assert_allclose(median_last(x), np.median(x, axis=-1), rtol=0, atol=0)
