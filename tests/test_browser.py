"""The HTML reports in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright loads the demo's page and a ``cbdiag score --html`` report from disk, and every image
must load, nothing may be fetched from outside the report folder, and the console stays clean.

``.ci/run`` installs Chromium and Playwright and sets ``CBDIAG_REQUIRE_BROWSER=1``, so there a
missing browser fails these tests instead of skipping them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser() -> Any:
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed (pip install playwright)"
    if missing is None and CHROMIUM is None:
        missing = "no chromium on PATH (apt-get install chromium)"
    if missing is not None:
        if os.environ.get("CBDIAG_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    return sync_playwright


def load(page_file: Path, screenshot: Path) -> dict[str, Any]:
    """Open ``page_file`` in Chromium: what failed to load, what was fetched, the console."""
    sync_playwright = _browser()
    seen: dict[str, Any] = {"console": [], "requests": [], "failed": [], "errors": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on(
                "console",
                lambda m: (
                    seen["console"].append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("requestfailed", lambda r: seen["failed"].append(r.url))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            seen["broken"] = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.getAttribute('src'))"
            )
            seen["images"] = page.evaluate("document.images.length")
            seen["sections"] = page.evaluate(
                "[...document.querySelectorAll('section')].map(s => s.id)"
            )
            seen["captions"] = page.evaluate(
                "[...document.querySelectorAll('.gallery figcaption')].map(f => f.innerText)"
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    folder = page_file.resolve().parent.as_uri()
    seen["outside"] = [u for u in seen["requests"] if not u.startswith(folder)]
    return seen


def _clean(seen: dict[str, Any]) -> None:
    assert seen["broken"] == [], f"images that did not load: {seen['broken']}"
    assert seen["failed"] == [], f"requests that failed: {seen['failed']}"
    assert seen["outside"] == [], f"fetched from outside the report: {seen['outside']}"
    assert seen["console"] == [] and seen["errors"] == [], (seen["console"], seen["errors"])


def test_demo_page_loads_whole(tmp_path: Path) -> None:
    where = tmp_path / "run"
    where.mkdir()
    (where / "samples").symlink_to(ROOT / "samples")
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "demo", "--out", "report"],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    seen = load(where / "report" / "index.html", tmp_path / "demo.png")
    _clean(seen)
    assert seen["images"] >= 8
    assert seen["sections"][0] == "summary"
    assert (tmp_path / "demo.png").stat().st_size > 10_000


def test_score_report_loads_whole_and_orders_by_score(tmp_path: Path) -> None:
    report = tmp_path / "report"
    images = sorted(str(p) for p in (ROOT / "samples").glob("*.png"))
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "cbdiag",
            "score",
            *images,
            "tests/data",
            "--pooled",
            "--html",
            str(report),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert p.returncode == 1, p.stderr  # the samples hold artifacts: flagged
    seen = load(report / "index.html", tmp_path / "score.png")
    _clean(seen)
    assert seen["sections"] == ["verdict", "flagged", "gallery", "table", "errors"]
    scores = [float(re.search(r"(?:FLAGGED|ok) (-?[\d.]+):", c).group(1)) for c in seen["captions"]]
    assert len(scores) == len(images) + 4 and scores == sorted(scores, reverse=True)
