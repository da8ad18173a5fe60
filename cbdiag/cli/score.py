"""``cbdiag score``: the periodic pattern of images (grey levels), per image and pooled."""

from __future__ import annotations

import csv
import fnmatch
import io
import os
import stat
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from enum import Enum
from pathlib import Path, PurePath
from typing import Annotated, Any

import typer

from ..errors import CbdiagError, OutputError, OutputExistsError, UsageError
from ..files import display, kind, reason
from ..images import IMAGE_EXTENSIONS, check_writable, load_image, luminance, save_png
from ..periodic import PhaseStats, pool
from ..report import dumps, envelope
from ..spectrum import (
    DEFAULT_MIN_AMPLITUDE,
    DEFAULT_MIN_SIGNIFICANCE,
    DEFAULT_POOLED_MIN_AMPLITUDE,
    DEFAULT_THRESHOLD,
    PERIODS,
    pool_results,
    score_image,
)
from ._common import err_console, handle_errors, out_console, write_stdout
from .generate import _progress

_HELP = f"""Score images for checkerboard artifacts: the periodic pattern at the stride periods
(2, 4, 8, 16, 32) in grey levels, and how significant it is, with no model and no training data.

PATHS are image files, directories (searched recursively, --glob to filter) or - to read a list
of paths from stdin. Each image gets an amplitude (RMS of the periodic pattern, grey levels of
8-bit luminance), a significance (sigma: how unlikely those lines are under the image's own
background), the period that carries it, a score (log10 of the lines' excess over their
background), its strongest frequencies, and diagnostics of look-alikes (JPEG grid, interpolated
or nearest-neighbour upscaling, off-grid peaks of a resized image).

An image is flagged when its pattern is significant (--min-significance, default
{DEFAULT_MIN_SIGNIFICANCE:g} sigma), at least --min-amplitude (default
{DEFAULT_MIN_AMPLITUDE:g} grey levels: above every photo, JPEG, resize and texture of the
benchmark) and not explained by a look-alike.

--pooled treats all images as samples of one generator and also reports the fixed pattern they
share (flagged from --pooled-min-amplitude, default {DEFAULT_POOLED_MIN_AMPLITUDE:g} grey
levels): a pattern too faint for any single sample is plain in the pool.

Exit codes: 0 nothing flagged, 1 an image (or the pool) flagged, 2 bad input or an unreadable
file (every readable file is still scored and reported)."""
# paragraphs refilled, so the interpolated defaults do not leave ragged lines
HELP = "\n\n".join(textwrap.fill(" ".join(p.split()), 96) for p in _HELP.split("\n\n"))


class ScoreFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"


def expand(paths: list[str], glob: str | None) -> Iterator[tuple[str, str | None]]:
    """``(path, error)`` for every input: files as given, directories searched recursively,
    ``-`` read from stdin; an error where a path does not exist, is not a regular file, or a
    directory (or a folder under it) cannot be read or has no image. Named pipes, devices and
    sockets found in a directory are passed over; named on the command line they are refused."""
    if glob is not None and (os.path.isabs(glob) or not glob.strip()):
        raise UsageError(f"--glob must be a relative pattern such as '*.png', got {glob!r}")
    for raw in paths:
        if raw == "-":
            names = [line.strip() for line in sys.stdin if line.strip()]
            yield from expand(names, glob) if names else iter([("-", "no paths on stdin")])
            continue
        try:
            mode = os.stat(raw).st_mode
        except ValueError:
            yield raw, f"{display(raw)}: not a valid path (it holds a NUL character)"
            continue
        except OSError as exc:
            why = reason(exc)
            if os.path.islink(raw):
                why = "dangling symbolic link"
            yield raw, f"{display(raw)}: {why}"
            continue
        if stat.S_ISDIR(mode):
            yield from _search(raw, glob)
        elif stat.S_ISREG(mode):
            yield raw, None
        else:
            yield raw, f"{display(raw)}: {kind(mode)}, not a regular file"


def _once(
    items: Iterator[tuple[str, str | None]],
) -> tuple[list[tuple[str, str | None]], int]:
    """The inputs with each file once (the same file by another path, a folder and a file in
    it, a glob that overlaps), and how many were dropped: a sample counted twice would weigh
    twice in the pooled pattern."""
    seen: set[tuple[int, int] | str] = set()
    out: list[tuple[str, str | None]] = []
    repeats = 0
    for path, err in items:
        key: tuple[int, int] | str = path
        if err is None:
            try:
                st = os.stat(path)
                key = (st.st_dev, st.st_ino)
            except OSError:
                pass
        if key in seen:
            repeats += 1
            continue
        seen.add(key)
        out.append((path, err))
    return out, repeats


def _search(top: str, glob: str | None) -> Iterator[tuple[str, str | None]]:
    """The images under directory ``top`` (sorted), and an error for each folder not read."""
    found: list[tuple[str, str | None]] = []
    unread: list[tuple[str, str | None]] = []

    def onerror(exc: OSError) -> None:
        where = exc.filename if exc.filename is not None else top
        unread.append((str(where), f"{display(where)}: cannot search the folder ({reason(exc)})"))

    for root, dirs, files in os.walk(top, onerror=onerror):
        dirs.sort()
        for f in files:
            q = os.path.join(root, f)
            rel = os.path.relpath(q, top)
            if glob is not None:
                if not (fnmatch.fnmatch(f, glob) or PurePath(rel).match(glob)):
                    continue
            elif not f.lower().endswith(IMAGE_EXTENSIONS):
                continue
            try:
                mode = os.stat(q).st_mode
            except OSError as exc:
                why = "dangling symbolic link" if os.path.islink(q) else reason(exc)
                found.append((q, f"{display(q)}: {why}"))
                continue
            if stat.S_ISREG(mode):
                found.append((q, None))
    if not found and not unread:
        what = glob or ", ".join(IMAGE_EXTENSIONS)
        yield top, f"{display(top)}: no images found (looked for {what})"
    yield from sorted(found)
    yield from unread


#: Most worker processes of --jobs.
MAX_JOBS = 256

Work = tuple[str, int | None, float, float, float, bool]


def _score_one(args: Work) -> tuple[dict[str, Any], dict[int, PhaseStats] | None]:
    path, stride, threshold, min_amp, min_sig, keep_stats = args
    try:
        res = score_image(
            path,
            stride=stride,
            threshold=threshold,
            min_amplitude=min_amp,
            min_significance=min_sig,
        )
        return res.as_dict(), (res.stats if keep_stats else None)
    except CbdiagError as exc:
        return _error(path, str(exc)), None
    except Exception as exc:  # one bad file must not stop a batch
        return _error(path, f"{path}: internal error: {type(exc).__name__}: {exc}"), None


def _error(path: str, message: str) -> dict[str, Any]:
    return {
        "path": path,
        "score": None,
        "flagged": False,
        "period": None,
        "amplitude": None,
        "significance": None,
        "per_period": {},
        "peaks": [],
        "diagnostics": {},
        "error": " ".join(message.split()),
    }


def score(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATHS...", help="Images, directories, or - for a list on stdin."),
    ] = None,
    glob: Annotated[
        str | None, typer.Option("--glob", help='Pattern for directories, e.g. "*.png".')
    ] = None,
    stride: Annotated[
        int | None, typer.Option("--stride", "-s", help="Only look for this period (2 to 32).")
    ] = None,
    min_amplitude: Annotated[
        float,
        typer.Option(
            "--min-amplitude",
            "-a",
            help="Flag patterns of at least this RMS, in grey levels of 8-bit luminance.",
        ),
    ] = DEFAULT_MIN_AMPLITUDE,
    min_significance: Annotated[
        float,
        typer.Option("--min-significance", help="Flag patterns at least this significant (sigma)."),
    ] = DEFAULT_MIN_SIGNIFICANCE,
    pooled: Annotated[
        bool,
        typer.Option("--pooled", help="Also report the fixed pattern all the images share."),
    ] = False,
    pooled_min_amplitude: Annotated[
        float,
        typer.Option("--pooled-min-amplitude", help="--min-amplitude of the pooled pattern."),
    ] = DEFAULT_POOLED_MIN_AMPLITUDE,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            "-t",
            help=f"Also require score above this (default {DEFAULT_THRESHOLD:g}).",
        ),
    ] = None,
    fail_above: Annotated[
        float | None,
        typer.Option("--fail-above", help="Same as --threshold."),
    ] = None,
    fmt: Annotated[ScoreFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ScoreFormat.text
    ),
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes to score with.")] = 1,
    spectrum: Annotated[
        Path | None, typer.Option("--spectrum", help="Write the power spectrum PNG (one image).")
    ] = None,
    map_: Annotated[
        Path | None, typer.Option("--map", help="Write the local-score map PNG (one image).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write a static report to this folder: index.html with thumbnails by score, "
            "the spectrum and map of each flagged image, the pooled verdict.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the PNGs (and write into a used --html).")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr (a TTY).")
    ] = True,
) -> None:
    with handle_errors():
        if not paths:
            raise UsageError("give image files, directories, or - for a list on stdin")
        if threshold is not None and fail_above is not None and threshold != fail_above:
            raise UsageError("--threshold and --fail-above disagree; give one")
        thr = fail_above if fail_above is not None else threshold
        thr = DEFAULT_THRESHOLD if thr is None else thr
        if not (thr >= 0 and thr != float("inf")):  # nan would open the gate: refused
            name = "--fail-above" if fail_above is not None else "--threshold"
            raise UsageError(f"{name} must be a finite number >= 0, got {thr}")
        if not 1 <= jobs <= MAX_JOBS:
            raise UsageError(f"--jobs must be from 1 to {MAX_JOBS}, got {jobs}")
        if stride is not None and not 2 <= stride <= 32:
            raise UsageError(f"--stride must be from 2 to 32, got {stride}")
        for name, v in (
            ("--min-amplitude", min_amplitude),
            ("--min-significance", min_significance),
            ("--pooled-min-amplitude", pooled_min_amplitude),
        ):
            if not v >= 0 or v == float("inf"):
                raise UsageError(f"{name} must be a finite number >= 0, got {v}")
        items, repeats = _once(expand(paths, glob))
        if repeats:
            err_console().print(
                f"{repeats} path{'s' * (repeats != 1)} named a file already given: each file "
                "is scored (and pooled) once",
                style="dim",
            )
        readable = [p for p, err in items if err is None]
        if (spectrum or map_) and len(items) != 1:
            raise UsageError("--spectrum and --map need exactly one image")
        for out in (spectrum, map_):
            if out is not None:
                check_writable(out, force=force)
        if html is not None:
            from ..render.score_html import prepare

            prepare(html, force)
        results: dict[str, dict[str, Any]] = {p: _error(p, err) for p, err in items if err}
        pooled_stats: dict[int, PhaseStats] = {}
        if (spectrum or map_) and readable:  # the one image: scored once, with its pictures
            try:
                results[readable[0]], one = _pictures(
                    readable[0], stride, thr, min_amplitude, min_significance, spectrum, map_, force
                )
                pooled_stats = pool([pooled_stats, one])
            except (OutputError, OutputExistsError):
                raise  # writing the picture failed: the command's own error
            except CbdiagError as exc:  # the image itself: reported like any unreadable file
                results[readable[0]] = _error(readable[0], str(exc))
            readable = []
        work: list[Work] = [
            (p, stride, thr, min_amplitude, min_significance, pooled) for p in readable
        ]

        def take(res: dict[str, Any], st: dict[int, PhaseStats] | None) -> None:
            nonlocal pooled_stats
            results[res["path"]] = res
            if st:
                pooled_stats = pool([pooled_stats, st])

        with _progress(progress and len(work) > 1) as bar:
            task = bar.add_task("scoring", total=len(work))
            if jobs > 1 and len(work) > 1:
                with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as executor:
                    for res, st in executor.map(
                        _score_one, work, chunksize=max(1, len(work) // (8 * jobs))
                    ):
                        take(res, st)
                        bar.advance(task)
            else:
                for w in work:
                    take(*_score_one(w))
                    bar.advance(task)
        ordered = [results[p] for p, _ in items]
        pooled_doc = None
        if pooled and pooled_stats:
            pooled_doc = pool_results(
                [pooled_stats],
                min_amplitude=pooled_min_amplitude,
                min_significance=min_significance,
            ).as_dict()
        elif pooled:
            pooled_doc = {"n_images": 0, "flagged": False, "error": "no readable image to pool"}
        _emit(ordered, fmt, thr, min_amplitude, min_significance, pooled_doc)
        if html is not None:
            _report(html, ordered, pooled_doc, stride, thr, min_amplitude, min_significance)
        n_err = sum(1 for r in ordered if r["error"])
        n_flag = sum(1 for r in ordered if r["flagged"])
        n_ok = len(ordered) - n_err
        summary = f"scored {n_ok}, flagged {n_flag}, unreadable {n_err}"
        if pooled_doc is not None:
            summary += ", pooled " + ("FLAGGED" if pooled_doc["flagged"] else "not flagged")
        err_console().print(summary, style="dim")
        if n_err:
            raise typer.Exit(2)
        if n_flag or (pooled_doc is not None and pooled_doc["flagged"]):
            raise typer.Exit(1)


def _pictures(
    path: str,
    stride: int | None,
    thr: float,
    min_amp: float,
    min_sig: float,
    spectrum: Path | None,
    map_: Path | None,
    force: bool,
) -> tuple[dict[str, Any], dict[int, PhaseStats]]:
    """Score one image keeping its spectra, write the pictures, return its result."""
    from ..render.score_png import map_png, spectrum_png

    loaded, res = _with_spectra(path, stride, thr, min_amp, min_sig, tiles=bool(map_))
    res.path = path
    if spectrum is not None:
        save_png(spectrum_png(res), spectrum, force=force)
    if map_ is not None:
        grey = luminance(loaded.pixels, loaded.max_value)
        save_png(map_png(res, grey), map_, force=force)
    return res.as_dict(), res.stats


def _with_spectra(
    path: str, stride: int | None, thr: float, min_amp: float, min_sig: float, *, tiles: bool
) -> tuple[Any, Any]:
    """The image and its score, with the spectra (and the tiles' scores) the pictures need."""
    loaded = load_image(path)
    res = score_image(
        loaded,
        stride=stride,
        threshold=thr,
        min_amplitude=min_amp,
        min_significance=min_sig,
        keep_spectrum=True,
        keep_tiles=tiles,
    )
    return loaded, res


def _legend(thr: float, min_amp: float, min_sig: float, pooled: dict[str, Any] | None) -> str:
    return (
        f"flagged: significance >= {min_sig:g} sigma, amplitude >= {min_amp:g} grey levels"
        + (f", score > {thr:g}" if thr else "")
        + (
            f"; pooled amplitude >= {pooled['min_amplitude']:g}"
            if pooled is not None and "min_amplitude" in pooled
            else ""
        )
    )


def _report(
    out: Path,
    results: list[dict[str, Any]],
    pooled: dict[str, Any] | None,
    stride: int | None,
    thr: float,
    min_amp: float,
    min_sig: float,
) -> None:
    """``--html``: the report folder, its pictures drawn from the images again."""
    from PIL import Image

    from ..render.score_html import THUMB, write_report
    from ..render.score_png import map_png, spectrum_png

    small: dict[str, Any] = {}  # thumbnails of the images already decoded for their pictures

    def shrink(grey: Any, side: int) -> Any:
        img = Image.fromarray((grey.clip(0, 1) * 255 + 0.5).astype("uint8"), "L")
        h, w = grey.shape
        scale = side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        # a small image is magnified pixel for pixel, so its grid stays visible
        method = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
        return img.resize(size, method)

    def pictures(path: str) -> tuple[Any, Any]:
        loaded, res = _with_spectra(path, stride, thr, min_amp, min_sig, tiles=True)
        res.path = display(path)  # the figures are titled by the file's name
        grey = luminance(loaded.pixels, loaded.max_value)
        small[path] = shrink(grey, THUMB)
        return spectrum_png(res), map_png(res, grey)

    def thumbnail(path: str, side: int) -> Any:
        if side == THUMB and path in small:
            return small.pop(path)
        loaded = load_image(path)
        return shrink(luminance(loaded.pixels, loaded.max_value), side)

    import shlex

    files = write_report(
        out,
        results,
        pooled,
        _legend(thr, min_amp, min_sig, pooled),
        pictures,
        thumbnail,
        notes=_notes,
        command=shlex.join(["cbdiag", *sys.argv[1:]]),
    )
    n = len(files)
    err_console().print(
        f"wrote {display(str(out / 'index.html'))} ({n} file{'s' * (n != 1)})", style="dim"
    )


def _notes(r: dict[str, Any]) -> str:
    d = r.get("diagnostics") or {}
    notes = []
    if d.get("jpeg_grid", {}).get("jpeg_file"):
        q = d["jpeg_grid"].get("quality_estimate")
        notes.append(f"JPEG q~{q}" if q else "JPEG")
    if d.get("interpolated_upscale", {}).get("flag"):
        notes.append(f"interpolated x{d['interpolated_upscale']['factor']}")
    if d.get("nearest_upscale", {}).get("flag"):
        notes.append(f"nearest x{d['nearest_upscale']['factor']}")
    if d.get("off_grid", {}).get("flag"):
        notes.append(f"off-grid peak (period {d['off_grid']['implied_period']})")
    if r.get("explained_by"):
        notes.append("explained: " + r["explained_by"])
    return ", ".join(notes)


def _pool_label(pooled: dict[str, Any]) -> str:
    n = pooled.get("n_images", 0)
    return f"(pooled: {n} image{'' if n == 1 else 's'})"


def _emit(
    results: list[dict[str, Any]],
    fmt: ScoreFormat,
    thr: float,
    min_amp: float,
    min_sig: float,
    pooled: dict[str, Any] | None,
) -> None:
    if fmt == ScoreFormat.json:
        doc = envelope(
            "score",
            threshold=thr,
            min_amplitude=min_amp,
            min_significance=min_sig,
            results=results,
        )
        if pooled is not None:
            doc["pooled"] = pooled
        write_stdout(dumps(doc))
        return
    if fmt == ScoreFormat.csv:
        buf = io.StringIO()
        searched = sorted(
            {int(k) for r in results for k in (r.get("per_period") or {})} or set(PERIODS)
        )
        cols = ["path", "score", "flagged", "period", "amplitude", "significance"]
        cols += [f"period_{s}" for s in searched]
        cols += [f"amplitude_{s}" for s in searched]
        cols += ["peak_frequency", "peak_ratio", "notes", "error"]
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(cols)
        for r in results:
            pk = r["peaks"][0] if r["peaks"] else None
            amps = r.get("per_period_amplitude") or {}
            wr.writerow(
                [r["path"], r["score"], r["flagged"], r["period"]]
                + [r.get("amplitude"), r.get("significance")]
                + [r["per_period"].get(str(s)) for s in searched]
                + [amps.get(str(s)) for s in searched]
                + [
                    ",".join(pk["frequency"]) if pk else None,
                    pk["ratio"] if pk else None,
                    _notes(r),
                    r["error"],
                ]
            )
        if pooled is not None:
            per = pooled.get("per_period") or {}
            wr.writerow(
                [_pool_label(pooled), None, pooled["flagged"]]
                + [pooled.get("period"), pooled.get("amplitude"), pooled.get("significance")]
                + [(per.get(str(s)) or {}).get("score") for s in searched]
                + [(per.get(str(s)) or {}).get("amplitude") for s in searched]
                + [None, None, "", pooled.get("error")]
            )
        write_stdout(buf.getvalue())
        return
    from ..render.layout import Column, emit, paragraph, table, width_of
    from ..render.score_html import error_reason

    columns = [
        Column("path"),
        Column("flag", bare=True),
        Column("period", right=True),
        Column("amplitude", right=True),
        Column("sigma", right=True),
        Column("score", right=True),
        Column("notes", notes=True),
    ]
    rows: list[list[Any]] = []
    for r in results:
        if r["error"]:
            err = ("error", "bold red")
            rows.append([display(r["path"]), err, "-", "-", "-", "-", error_reason(r)])
            continue
        flag = ("FLAGGED", "bold red") if r["flagged"] else ("ok", "green")
        rows.append(
            [
                display(r["path"]),
                flag,
                str(r["period"] or "-"),
                f"{r['amplitude']:.3f}",
                f"{r['significance']:.1f}",
                f"{r['score']:.2f}",
                _notes(r),
            ]
        )
    if pooled is not None and pooled.get("error") is None:
        flag = ("FLAGGED", "bold red") if pooled["flagged"] else ("ok", "green")
        rows.append(
            [
                _pool_label(pooled),
                flag,
                str(pooled["period"] or "-"),
                f"{pooled['amplitude']:.3f}",
                f"{pooled['significance']:.1f}",
                "",
                "the fixed pattern the images share",
            ]
        )
    elif pooled is not None:
        err = ("error", "bold red")
        rows.append([_pool_label(pooled), err, "-", "-", "-", "-", pooled["error"]])
    console = out_console()
    width = width_of(console)
    emit(console, table(columns, rows, width))
    emit(console, paragraph(_legend(thr, min_amp, min_sig, pooled), width, rest="  "), "dim")
