"""``cbdiag score``: the periodic pattern of images (grey levels), per image and pooled."""

from __future__ import annotations

import io
import os
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..audio import DEFAULT_MIN_LEVEL_DBFS
from ..batch import MAX_JOBS
from ..errors import CbdiagError, OutputError, OutputExistsError, UsageError
from ..files import display, reason
from ..images import check_writable, load_image, luminance, save_png
from ..report import dumps, envelope
from ..resume import Written
from ..spectrum import (
    DEFAULT_MIN_AMPLITUDE,
    DEFAULT_MIN_SIGNIFICANCE,
    DEFAULT_POOLED_MIN_AMPLITUDE,
    DEFAULT_THRESHOLD,
    pool_results,
    score_image,
)
from ._common import fail, handle_errors, out_console, status, write_stdout
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

Large batches: --format csv and json-lines write each row as its image finishes; --output FILE
writes them to FILE, and after an interruption (exit 130) --resume FILE goes on where it
stopped. --files-from LIST reads paths from a listing; --dask scores on a Dask cluster
(pip install 'cbdiag[dask]').

Audio (WAV; FLAC and Ogg with pip install 'cbdiag[audio]'): audio files named, or --audio for
directories. Each clip gets the tonal lines an upsampler paints at k/P cycles per sample (a
buzz every R/P Hz at sample rate R): the period P, the level of the lines in dBFS (a full-scale
sine is 0), their significance and their frequencies in Hz; flagged from --min-level (default
{DEFAULT_MIN_LEVEL_DBFS:g} dBFS) at --min-significance. --stride is a period or the rates of
the upsampling stack from input to output (8x8x2x2: the periods 2, 4, 32, 256); by default
every period made of factors 2, 3 and 5 up to 1024. --pooled pools the clips of each sample
rate; --spectrum draws a spectrogram with the lines marked, --map their level second by second.

Exit codes: 0 nothing flagged, 1 an image (or the pool) flagged, 2 bad input or an unreadable
file (every readable file is still scored and reported), 130 interrupted."""
# paragraphs refilled, so the interpolated defaults do not leave ragged lines
HELP = "\n\n".join(textwrap.fill(" ".join(p.split()), 96) for p in _HELP.split("\n\n"))


class ScoreFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"
    json_lines = "json-lines"


class Order(str, Enum):
    input = "input"
    completion = "completion"


#: Formats written row by row as results arrive (and so resumable).
STREAMED = (ScoreFormat.csv, ScoreFormat.json_lines)
#: Seconds between two saves of the pooled statistics beside a --output file.
CHECKPOINT_SECONDS = 2.0


def score(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATHS...", help="Images, directories, or - for a list on stdin."),
    ] = None,
    glob: Annotated[
        str | None, typer.Option("--glob", help='Pattern for directories, e.g. "*.png".')
    ] = None,
    files_from: Annotated[
        list[str] | None,
        typer.Option(
            "--files-from",
            metavar="LIST",
            help="A file listing image paths, one per line (- for stdin), taken as listed: "
            "for listings too long for the command line. Repeatable.",
        ),
    ] = None,
    stride: Annotated[
        str | None,
        typer.Option(
            "--stride",
            "-s",
            help="Only look for this period (images: 2 to 32; audio: a period in samples, or "
            "the upsampling rates from input to output, 8x8x2x2 for the periods 2, 4, 32, 256).",
        ),
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
    fmt: Annotated[
        ScoreFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format; csv and json-lines are written row by row as images finish.",
        ),
    ] = ScoreFormat.text,
    order: Annotated[
        Order,
        typer.Option(
            "--order",
            help="Rows in the order of the inputs, or as they finish (completion).",
        ),
    ] = Order.input,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the results to FILE."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="FILE",
            help="Go on with an interrupted --output FILE (csv or json-lines): the paths it "
            "holds are skipped and new rows appended.",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes to score with.")] = 1,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Score on a Dask cluster: a scheduler's address (tcp://host:8786), or local "
            "or local:N for N worker processes here. Needs cbdiag[dask].",
        ),
    ] = None,
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
        bool,
        typer.Option(
            "--force", help="Overwrite the PNGs and --output (and write into a used --html)."
        ),
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr (a TTY).")
    ] = True,
    audio: Annotated[
        bool,
        typer.Option(
            "--audio",
            help="Score audio (WAV; FLAC and Ogg with cbdiag[audio]): directories are searched "
            "for audio files. Implied when the files named are audio.",
        ),
    ] = False,
    min_level: Annotated[
        float,
        typer.Option(
            "--min-level",
            metavar="DBFS",
            help="Audio: flag tonal patterns of at least this level (dBFS; a full-scale sine "
            "is 0).",
        ),
    ] = DEFAULT_MIN_LEVEL_DBFS,
) -> None:
    with handle_errors():
        lists = list(files_from or [])
        if not paths and not lists:
            raise UsageError(
                "give image files, directories, - for a list on stdin, or --files-from LIST"
            )
        if (paths or []).count("-") + lists.count("-") > 1:
            raise UsageError("stdin can be read once: give - as a path or as --files-from, once")
        if threshold is not None and fail_above is not None and threshold != fail_above:
            raise UsageError("--threshold and --fail-above disagree; give one")
        thr = fail_above if fail_above is not None else threshold
        thr = DEFAULT_THRESHOLD if thr is None else thr
        if not (thr >= 0 and thr != float("inf")):  # nan would open the gate: refused
            name = "--fail-above" if fail_above is not None else "--threshold"
            raise UsageError(f"{name} must be a finite number >= 0, got {thr}")
        if not 1 <= jobs <= MAX_JOBS:
            raise UsageError(f"--jobs must be from 1 to {MAX_JOBS}, got {jobs}")
        if dask is not None and jobs > 1:
            raise UsageError("--dask and --jobs both say where to score; give one")
        from .score_audio import is_audio

        named = [p for p in paths or [] if p != "-" and not os.path.isdir(p)]
        sounds = [p for p in named if is_audio(p)]
        if sounds and len(sounds) != len(named):
            other = next(p for p in named if not is_audio(p))
            raise UsageError(
                "score images and audio files in separate runs (the thresholds and the pooled "
                f"pattern differ): got {display(sounds[0])} and {display(other)}"
            )
        if audio or sounds or (glob is not None and is_audio(glob)):
            _audio(
                paths or [],
                glob,
                lists,
                stride=stride,
                min_sig=min_significance,
                min_level=min_level,
                pooled=pooled,
                fmt=fmt,
                output=output,
                resume=resume,
                jobs=jobs,
                dask=dask,
                spectrum=spectrum,
                map_=map_,
                html=html,
                force=force,
            )
            return
        image_stride = _image_stride(stride)
        for name, v in (
            ("--min-amplitude", min_amplitude),
            ("--min-significance", min_significance),
            ("--pooled-min-amplitude", pooled_min_amplitude),
        ):
            if not v >= 0 or v == float("inf"):
                raise UsageError(f"{name} must be a finite number >= 0, got {v}")
        if resume is not None:
            if fmt not in STREAMED:
                raise UsageError(
                    "--resume goes on with rows written one by one: give --format csv or "
                    "--format json-lines, as the interrupted run had"
                )
            if output is not None and os.path.abspath(output) != os.path.abspath(resume):
                raise UsageError("--resume FILE already names the output; drop --output")
            if spectrum or map_ or html:
                raise UsageError("--resume does not draw pictures: drop --spectrum, --map, --html")
        elif output is not None:
            try:
                check_writable(output, force=force)
            except OutputExistsError:
                if fmt in STREAMED:
                    raise OutputExistsError(
                        f"{display(output)} exists: --resume {display(output)} goes on with it, "
                        "--force writes it again"
                    ) from None
                raise
        run = _Run(
            paths or [],
            glob,
            lists,
            image_stride,
            thr,
            min_amplitude,
            min_significance,
            pooled,
            pooled_min_amplitude,
            fmt,
            output,
            html,
            force,
        )
        if spectrum or map_:
            _one_image(run, spectrum, map_)
            return
        if html is not None:
            from ..render.score_html import prepare

            prepare(html, force)
        _many(run, order.value, resume, jobs, dask, progress)


def _image_stride(stride: str | None) -> int | None:
    if stride is None:
        return None
    try:
        value = int(stride)
    except ValueError:
        raise UsageError(f"--stride for images is a period from 2 to 32, got {stride!r}") from None
    if not 2 <= value <= 32:
        raise UsageError(f"--stride must be from 2 to 32, got {value}")
    return value


def _audio(
    paths: list[str],
    glob: str | None,
    lists: list[str],
    *,
    stride: str | None,
    min_sig: float,
    min_level: float,
    pooled: bool,
    fmt: ScoreFormat,
    output: Path | None,
    resume: Path | None,
    jobs: int,
    dask: str | None,
    spectrum: Path | None,
    map_: Path | None,
    html: Path | None,
    force: bool,
) -> None:
    """The audio path of ``cbdiag score`` (see :mod:`cbdiag.cli.score_audio`)."""
    from ..audio import AUDIO_SUFFIXES
    from ..batch import Once, expand
    from . import score_audio

    for name, given in (
        ("--jobs", jobs > 1),
        ("--dask", dask is not None),
        ("--resume", resume is not None),
        ("--html", html is not None),
    ):
        if given:
            raise UsageError(f"{name} is for images; audio files are scored in one process")
    if not (min_level == min_level and abs(min_level) != float("inf")):
        raise UsageError(f"--min-level must be a finite number of dBFS, got {min_level}")
    once = Once()
    inputs = [it for it in expand(paths, glob, lists, suffixes=AUDIO_SUFFIXES) if once.admit(it)]
    score_audio.run(
        inputs,
        stride=stride,
        min_sig=min_sig,
        min_level=min_level,
        pooled=pooled,
        fmt=fmt.value,
        output=output,
        spectrum=spectrum,
        map_=map_,
        force=force,
    )


@dataclass(frozen=True)
class _Run:
    """The options of one ``cbdiag score`` run that both of its paths (many images, or one
    with its pictures) use."""

    paths: list[str]
    glob: str | None
    lists: list[str]
    stride: int | None
    thr: float
    min_amp: float
    min_sig: float
    pooled: bool
    pooled_min_amp: float
    fmt: ScoreFormat
    output: Path | None
    html: Path | None
    force: bool

    def inputs_and_thresholds(
        self,
    ) -> tuple[list[str], str | None, list[str], int | None, float, float, float]:
        return (
            self.paths,
            self.glob,
            self.lists,
            self.stride,
            self.thr,
            self.min_amp,
            self.min_sig,
        )


class _Out:
    """Where rows go: stdout or a file (appended to on --resume), flushed every little while
    so a reader of a pipe sees rows as they finish, not every row (a syscall each). A file is
    written as bytes and counted, so the length a checkpoint records costs no syscall."""

    FLUSH = 0.25

    def __init__(self, target: Path | None, *, append: bool, offset: int) -> None:
        self.target = target
        self.bytes = offset if append else 0  # the file's length once flushed
        self._last = time.monotonic()
        if target is None:
            self.fh: Any = sys.stdout
            return
        try:
            if append and os.path.exists(target):
                self.fh = open(target, "r+b")  # noqa: SIM115
                self.fh.truncate(offset)  # cut a line the interruption left half-written
                self.fh.seek(offset)
            else:
                self.fh = open(target, "wb")  # noqa: SIM115
        except OSError as exc:
            raise OutputError(f"cannot write {display(target)}: {reason(exc)}") from None

    def write(self, text: str) -> None:
        if self.target is not None:
            data = text.encode("utf-8", "surrogateescape")
            self.fh.write(data)
            self.bytes += len(data)
        else:
            try:
                self.fh.write(text)
            except UnicodeEncodeError:  # stdout that is not UTF-8: the bytes of the name
                buf = getattr(self.fh, "buffer", None)
                if buf is None:
                    raise
                self.fh.flush()
                buf.write(text.encode(self.fh.encoding or "utf-8", "surrogateescape"))
        now = time.monotonic()
        if now - self._last >= self.FLUSH:
            self.flush()
            self._last = now

    def flush(self) -> None:
        self.fh.flush()

    def close(self) -> None:
        self.flush()
        if self.target is not None:
            self.fh.close()


def _many(
    run: _Run,
    order: str,
    resume: Path | None,
    jobs: int,
    dask: str | None,
    progress: bool,
) -> None:
    """Every input scored and its row written as it arrives (csv, json-lines) or kept for the
    document (text, json), then the pooled row, the summary and the exit code."""
    paths, glob, lists, stride, thr, min_amp, min_sig = run.inputs_and_thresholds()
    pooled, pooled_min_amp, fmt, output, html = (
        run.pooled,
        run.pooled_min_amp,
        run.fmt,
        run.output,
        run.html,
    )
    from ..batch import score_many
    from ..report import score as rows

    fields = rows.settings(stride, thr, min_amp, min_sig)
    streamed = fmt in STREAMED
    target = resume if resume is not None else output
    stop = _on_sigterm()  # from here on, SIGTERM stops the run as Ctrl-C does
    stream = cluster = out = None
    try:
        written = Written()
        if resume is not None:
            from ..resume import read

            written = read(str(resume), fmt.value, fields, pooled=pooled)
            if not written.checked:
                status(
                    f"{display(resume)} has no {display(str(resume) + '.cbdiag.npz')} beside "
                    "it: its settings cannot be checked against this run's"
                )
        side = None
        if target is not None and streamed:
            from ..resume import save_state, state_file

            side = state_file(str(target))
            if resume is None and os.path.lexists(side):
                os.unlink(side)  # a state left by an earlier run of this name: not this run's
        # the inputs are checked (a listing that cannot be read, bad settings) before the
        # output file is made or a cluster started
        stream = score_many(
            paths,
            jobs=jobs,
            glob=glob,
            files_from=lists,
            stride=stride,
            threshold=thr,
            min_amplitude=min_amp,
            min_significance=min_sig,
            pooled=pooled,
            order=order,
            done=written.done if written.rows else None,
        )
        if dask is not None:
            from ..distributed import Cluster

            cluster = Cluster(dask)
            if cluster.waiting:
                status(f"the Dask scheduler at {dask} has no workers yet: waiting for one")
            stream.client = cluster.client  # the runner is made at the first batch
        stream.stats = dict(written.stats)
        out = _Out(target, append=resume is not None, offset=written.offset) if streamed else None
        kept: list[dict[str, Any]] = []
        keep = not streamed or html is not None
        counts = {"rows": written.rows, "flagged": written.flagged, "errors": written.errors}
        state = {"format": fmt.value, **fields}
        if out is not None and not written.header:
            out.write(
                rows.csv_header(stride) if fmt == ScoreFormat.csv else rows.jsonl_header(fields)
            )
        safe = (out.bytes if out is not None else 0, dict(stream.stats))

        def checkpoint(offset: int, stats: Any) -> None:
            """The state beside the output, once the rows it accounts for are on disk."""
            if side is not None and out is not None:
                out.flush()
                save_state(side, state, offset, stats if pooled else None)

        checkpoint(*safe)
        saved = time.monotonic()
        try:
            with _progress(progress) as bar:
                task = bar.add_task("scoring", total=None)
                for s in stream:
                    r = s.row
                    counts["rows"] += 1
                    if r["error"]:
                        counts["errors"] += 1
                    elif r["flagged"]:
                        counts["flagged"] += 1
                    if out is not None:
                        out.write(
                            rows.csv_row(r, stride) if fmt == ScoreFormat.csv else rows.jsonl_row(r)
                        )
                    if keep:
                        kept.append(r)
                    bar.advance(task)
                    if pooled and out is not None and s.closes:
                        # rows and statistics agree here: what an interruption keeps
                        safe = (out.bytes, stream.stats)
                        if time.monotonic() - saved >= CHECKPOINT_SECONDS:
                            checkpoint(*safe)
                            saved = time.monotonic()
        except (KeyboardInterrupt, CbdiagError) as exc:
            if out is not None:
                if pooled:  # rows after the last agreeing point are scored again
                    checkpoint(*safe)
                out.close()
            where = f" to {display(target)}" if target is not None else ""
            again = (
                f"; run the same command with --resume {display(target)} to go on"
                if target is not None and streamed
                else ""
            )
            if isinstance(exc, CbdiagError):
                raise CbdiagError(f"{exc}{where}{again}") from None
            n = counts["rows"]
            fail(f"interrupted: {n} row{'s' * (n != 1)} written{where}{again}", 130)
        pooled_doc = None
        if pooled:
            res = stream.pooled(pooled_min_amp, min_sig)
            if res is not None:
                pooled_doc = res.as_dict()
            else:
                pooled_doc = {"n_images": 0, "flagged": False, "error": "no readable image to pool"}
        if out is not None:
            checkpoint(out.bytes, stream.stats)
            if pooled_doc is not None:
                out.write(
                    rows.csv_pooled(pooled_doc, stride)
                    if fmt == ScoreFormat.csv
                    else rows.jsonl_pooled(pooled_doc)
                )
            out.close()
        else:
            _emit(kept, fmt, thr, min_amp, min_sig, pooled_doc, output, stride)
        if html is not None:
            _report(html, kept, pooled_doc, stride, thr, min_amp, min_sig)
    finally:
        stop()
        if stream is not None:
            stream.close()
        if cluster is not None:
            cluster.close()
    notes = []
    if stream.repeats:
        n = stream.repeats
        notes.append(
            f"{n} path{'s' * (n != 1)} named a file already given: each file is scored "
            "(and pooled) once"
        )
    if written.rows:
        n = written.rows
        were = "row was" if n == 1 else "rows were"
        notes.append(f"{n} {were} already in {display(resume)}: not scored again")
    for note in notes:
        status(note)
    n_err, n_flag = counts["errors"], counts["flagged"]
    summary = f"scored {counts['rows'] - n_err}, flagged {n_flag}, unreadable {n_err}"
    if pooled_doc is not None:
        summary += ", pooled " + ("FLAGGED" if pooled_doc["flagged"] else "not flagged")
    status(summary)
    if n_err:
        raise typer.Exit(2)
    if n_flag or (pooled_doc is not None and pooled_doc["flagged"]):
        raise typer.Exit(1)


def _on_sigterm() -> Callable[[], None]:
    """Stop on SIGTERM as on Ctrl-C (rows flushed, pooled statistics saved); the returned
    function puts the previous handler back."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return lambda: None

    def restore() -> None:
        signal.signal(signal.SIGTERM, old)

    return restore


def _one_image(run: _Run, spectrum: Path | None, map_: Path | None) -> None:
    """--spectrum / --map: one image, scored once with its pictures."""
    paths, glob, lists, stride, thr, min_amp, min_sig = run.inputs_and_thresholds()
    pooled, pooled_min_amp, fmt, output, html, force = (
        run.pooled,
        run.pooled_min_amp,
        run.fmt,
        run.output,
        run.html,
        run.force,
    )
    from itertools import islice

    from ..batch import Once, error_row, expand

    once = Once()
    items = list(islice((it for it in expand(paths, glob, lists) if once.admit(it)), 2))
    if len(items) != 1:
        raise UsageError("--spectrum and --map need exactly one image")
    for out in (spectrum, map_):
        if out is not None:
            check_writable(out, force=force)
    if html is not None:
        from ..render.score_html import prepare

        prepare(html, force)
    item = items[0]
    stats: dict[int, Any] = {}
    if item.error is not None:
        row = error_row(item.path, item.error)
    else:
        try:
            row, stats = _pictures(item.path, stride, thr, min_amp, min_sig, spectrum, map_, force)
        except (OutputError, OutputExistsError):
            raise  # writing the picture failed: the command's own error
        except CbdiagError as exc:  # the image itself: reported like any unreadable file
            row = error_row(item.path, str(exc))
    pooled_doc = None
    if pooled and stats:
        pooled_doc = pool_results(
            [stats], min_amplitude=pooled_min_amp, min_significance=min_sig
        ).as_dict()
    elif pooled:
        pooled_doc = {"n_images": 0, "flagged": False, "error": "no readable image to pool"}
    _emit([row], fmt, thr, min_amp, min_sig, pooled_doc, output, stride)
    if html is not None:
        _report(html, [row], pooled_doc, stride, thr, min_amp, min_sig)
    summary = f"scored {0 if row['error'] else 1}, flagged {int(bool(row['flagged']))}, "
    summary += f"unreadable {int(bool(row['error']))}"
    if pooled_doc is not None:
        summary += ", pooled " + ("FLAGGED" if pooled_doc["flagged"] else "not flagged")
    status(summary)
    if row["error"]:
        raise typer.Exit(2)
    if row["flagged"] or (pooled_doc is not None and pooled_doc["flagged"]):
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
) -> tuple[dict[str, Any], dict[int, Any]]:
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
    from ..report.score import notes

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
        notes=notes,
        command=shlex.join(["cbdiag", *sys.argv[1:]]),
    )
    n = len(files)
    status(f"wrote {display(str(out / 'index.html'))} ({n} file{'s' * (n != 1)})")


def _emit(
    results: list[dict[str, Any]],
    fmt: ScoreFormat,
    thr: float,
    min_amp: float,
    min_sig: float,
    pooled: dict[str, Any] | None,
    output: Path | None = None,
    stride: int | None = None,
) -> None:
    """The whole document of ``results``: to stdout, or to ``output`` (checked beforehand)."""
    from ..report import score as rows

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
        _write(dumps(doc) + "\n", output)
        return
    if fmt in STREAMED:
        fields = rows.settings(stride, thr, min_amp, min_sig)
        if fmt == ScoreFormat.csv:
            text = rows.csv_header(stride) + "".join(rows.csv_row(r, stride) for r in results)
            text += rows.csv_pooled(pooled, stride) if pooled is not None else ""
        else:
            text = rows.jsonl_header(fields) + "".join(rows.jsonl_row(r) for r in results)
            text += rows.jsonl_pooled(pooled) if pooled is not None else ""
        _write(text, output)
        return
    if output is not None:
        from ..render.layout import UNLIMITED

        buf = io.StringIO()
        console = out_console(UNLIMITED, file=buf)  # a file: no colour, no width
        _text(results, thr, min_amp, min_sig, pooled, console, UNLIMITED)
        _write(buf.getvalue(), output)
        return
    from ..render.layout import width_of

    console = out_console()
    _text(results, thr, min_amp, min_sig, pooled, console, width_of(console))


def _write(text: str, output: Path | None) -> None:
    if output is None:
        write_stdout(text)
        return
    from ..files import write_atomic

    write_atomic(output, lambda fh: fh.write(text.encode("utf-8", "surrogateescape")), force=True)


def _text(
    results: list[dict[str, Any]],
    thr: float,
    min_amp: float,
    min_sig: float,
    pooled: dict[str, Any] | None,
    console: Any,
    width: int,
) -> None:
    from ..render.layout import Column, emit, paragraph, table
    from ..render.score_html import error_reason
    from ..report.score import notes, pool_label

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
                notes(r),
            ]
        )
    if pooled is not None and pooled.get("error") is None:
        flag = ("FLAGGED", "bold red") if pooled["flagged"] else ("ok", "green")
        rows.append(
            [
                pool_label(pooled),
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
        rows.append([pool_label(pooled), err, "-", "-", "-", "-", pooled["error"]])
    emit(console, table(columns, rows, width))
    emit(console, paragraph(_legend(thr, min_amp, min_sig, pooled), width, rest="  "), "dim")
