"""``cbdiag score``: checkerboard energy of images, one line each, and a CI gate."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ..errors import CbdiagError, OutputError, OutputExistsError, UsageError
from ..images import IMAGE_EXTENSIONS, check_writable, load_image, luminance, save_png
from ..report import dumps, envelope
from ..spectrum import DEFAULT_THRESHOLD, PERIODS, score_image
from ._common import err_console, handle_errors, out_console, write_stdout
from .generate import _progress

HELP = f"""Score images for checkerboard artifacts: the energy of spectral lines at the stride
frequencies k/s (periods 2, 3, 4, 8, 16) over a local background, with no model and no
training data.

PATHS are image files, directories (searched recursively, --glob to filter) or - to read a list
of paths from stdin. Each image gets a score (higher = stronger; 0 = no excess), the period
that carries it, its strongest peaks, and diagnostics of look-alikes that never change the
score (JPEG grid, interpolated or nearest-neighbour upscaling, off-grid peaks of a resized
image). An image is flagged when its score is above the threshold (default
{DEFAULT_THRESHOLD}, calibrated to flag no camera photo, JPEG or resize in the benchmark).

Exit codes: 0 nothing flagged, 1 at least one image flagged, 2 bad input or an unreadable file
(every readable file is still scored and reported)."""


class ScoreFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"


def expand(paths: list[str], glob: str | None) -> Iterator[tuple[str, str | None]]:
    """``(path, error)`` for every input: files as given, directories searched recursively,
    ``-`` read from stdin; an error where a path does not exist or a directory has no image."""
    for raw in paths:
        if raw == "-":
            names = [line.strip() for line in sys.stdin if line.strip()]
            yield from expand(names, glob) if names else iter([("-", "no paths on stdin")])
            continue
        p = Path(raw)
        if p.is_dir():
            pattern = glob or "*"
            found = sorted(
                q
                for q in p.rglob(pattern)
                if (q.is_file() or (q.is_symlink() and not q.exists()))  # dangling: report it
                and (glob or q.suffix.lower() in IMAGE_EXTENSIONS)
            )
            if not found:
                what = glob or ", ".join(IMAGE_EXTENSIONS)
                yield raw, f"{raw}: no images found (looked for {what})"
            for q in found:
                yield str(q), None
        elif p.exists():
            yield raw, None
        else:
            yield raw, f"{raw}: no such file or directory"


def _score_one(args: tuple[str, int | None, float]) -> dict[str, Any]:
    path, stride, threshold = args
    try:
        return score_image(path, stride=stride, threshold=threshold).as_dict()
    except CbdiagError as exc:
        return _error(path, str(exc))
    except Exception as exc:  # one bad file must not stop a batch
        return _error(path, f"{path}: internal error: {type(exc).__name__}: {exc}")


def _error(path: str, message: str) -> dict[str, Any]:
    return {
        "path": path,
        "score": None,
        "flagged": False,
        "period": None,
        "per_period": {},
        "peaks": [],
        "diagnostics": {},
        "error": " ".join(message.split()),
    }


def score(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Images, directories, or - for a list on stdin.")
    ] = None,
    glob: Annotated[
        str | None, typer.Option("--glob", help='Pattern for directories, e.g. "*.png".')
    ] = None,
    stride: Annotated[
        int | None, typer.Option("--stride", "-s", help="Only look for this period.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", "-t", help=f"Flag above this score (default {DEFAULT_THRESHOLD})."
        ),
    ] = None,
    fail_above: Annotated[
        float | None,
        typer.Option("--fail-above", help="CI gate: same as --threshold (exit 1 if any is above)."),
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
    force: Annotated[bool, typer.Option("--force", help="Overwrite the PNGs.")] = False,
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
        if jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {jobs}")
        if stride is not None and stride < 2:
            raise UsageError(f"--stride must be >= 2, got {stride}")
        items = list(expand(paths, glob))
        readable = [p for p, err in items if err is None]
        if (spectrum or map_) and len(items) != 1:
            raise UsageError("--spectrum and --map need exactly one image")
        for out in (spectrum, map_):
            if out is not None:
                check_writable(out, force=force)
        results: dict[str, dict[str, Any]] = {p: _error(p, err) for p, err in items if err}
        if (spectrum or map_) and readable:  # the one image: scored once, with its pictures
            try:
                results[readable[0]] = _pictures(readable[0], stride, thr, spectrum, map_, force)
            except (OutputError, OutputExistsError):
                raise  # writing the picture failed: the command's own error
            except CbdiagError as exc:  # the image itself: reported like any unreadable file
                results[readable[0]] = _error(readable[0], str(exc))
            readable = []
        work = [(p, stride, thr) for p in readable]
        with _progress(progress and len(work) > 1) as bar:
            task = bar.add_task("scoring", total=len(work))
            if jobs > 1 and len(work) > 1:
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    for res in pool.map(
                        _score_one, work, chunksize=max(1, len(work) // (8 * jobs))
                    ):
                        results[res["path"]] = res
                        bar.advance(task)
            else:
                for w in work:
                    res = _score_one(w)
                    results[res["path"]] = res
                    bar.advance(task)
        ordered = [results[p] for p, _ in items]
        _emit(ordered, fmt, thr)
        n_err = sum(1 for r in ordered if r["error"])
        n_flag = sum(1 for r in ordered if r["flagged"])
        n_ok = len(ordered) - n_err
        err_console().print(f"scored {n_ok}, flagged {n_flag}, unreadable {n_err}", style="dim")
        if n_err:
            raise typer.Exit(2)
        if n_flag:
            raise typer.Exit(1)


def _pictures(
    path: str,
    stride: int | None,
    thr: float,
    spectrum: Path | None,
    map_: Path | None,
    force: bool,
) -> dict[str, Any]:
    """Score one image keeping its spectra, write the pictures, return its result."""
    from ..render.score_png import map_png, spectrum_png

    loaded = load_image(path)
    res = score_image(
        loaded, stride=stride, threshold=thr, keep_spectrum=True, keep_tiles=bool(map_)
    )
    res.path = path
    if spectrum is not None:
        save_png(spectrum_png(res), spectrum, force=force)
    if map_ is not None:
        grey = luminance(loaded.pixels, loaded.max_value)
        save_png(map_png(res, grey), map_, force=force)
    return res.as_dict()


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
    return ", ".join(notes)


def _emit(results: list[dict[str, Any]], fmt: ScoreFormat, thr: float) -> None:
    if fmt == ScoreFormat.json:
        write_stdout(dumps(envelope("score", threshold=thr, results=results)))
        return
    if fmt == ScoreFormat.csv:
        buf = io.StringIO()
        cols = ["path", "score", "flagged", "period"]
        cols += [f"period_{s}" for s in PERIODS]
        cols += ["peak_frequency", "peak_ratio", "notes", "error"]
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(cols)
        for r in results:
            pk = r["peaks"][0] if r["peaks"] else None
            wr.writerow(
                [r["path"], r["score"], r["flagged"], r["period"]]
                + [r["per_period"].get(str(s)) for s in PERIODS]
                + [
                    ",".join(pk["frequency"]) if pk else None,
                    pk["ratio"] if pk else None,
                    _notes(r),
                    r["error"],
                ]
            )
        sys.stdout.write(buf.getvalue())
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("path", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("flag", no_wrap=True)
    table.add_column("period", justify="right", no_wrap=True)
    table.add_column("strongest peak", no_wrap=True)
    table.add_column("notes", overflow="fold", min_width=8)
    for r in results:
        if r["error"]:
            table.add_row(r["path"], "-", Text("error", style="bold red"), "-", "", r["error"])
            continue
        pk = r["peaks"][0] if r["peaks"] else None
        peak = f"({pk['frequency'][0]}, {pk['frequency'][1]}) x{pk['ratio']:.3g}" if pk else ""
        flag = Text("FLAGGED", style="bold red") if r["flagged"] else Text("ok", style="green")
        table.add_row(
            r["path"], f"{r['score']:.3f}", flag, str(r["period"] or "-"), peak, _notes(r)
        )
    console = out_console()
    console.print(table)
    console.print(f"threshold {thr}", style="dim")
