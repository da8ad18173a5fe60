"""``cbdiag score`` on audio: each clip's tonal lines at the upsampler periods, the pool of
all clips, a spectrogram with the lines marked, and which seconds carry them.

The same contract as images: one result per input (an unreadable file is its own row and the
batch goes on), ``--format text|json|csv|json-lines``, ``--output``, exit 0 (nothing flagged),
1 (a clip or the pool flagged) or 2 (an input could not be scored, after every other one)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import typer

from ..audio import (
    AUDIO_SUFFIXES,
    AudioResult,
    LineStats,
    load_audio,
    pool_lines,
    score_audio,
    stride_periods,
    timeline,
    verdict,
)
from ..errors import CbdiagError, UsageError
from ..files import check_writable, display
from ..report import dumps, envelope
from ._common import out_console, status, write_stdout

#: CSV columns of an audio row.
CSV_COLUMNS = [
    "path",
    "flagged",
    "period",
    "line_spacing_hz",
    "level_dbfs",
    "significance",
    "sample_rate",
    "seconds",
    "channels",
    "lines_hz",
    "error",
]


def is_audio(path: str) -> bool:
    return path.lower().endswith(AUDIO_SUFFIXES)


def _error_row(path: str, message: str) -> dict[str, Any]:
    return {"path": path, "kind": "audio", "flagged": False, "period": None, "error": message}


def _pooled(
    stats: dict[int, list[dict[int, LineStats]]], min_sig: float, min_level: float
) -> list[dict[str, Any]]:
    """One pooled verdict per sample rate (the lines' frequencies in Hz need one)."""
    out = []
    for rate, per_clip in sorted(stats.items()):
        res = verdict(
            pool_lines(per_clip),
            rate=rate,
            frames=0,
            channels=0,
            path=None,
            min_significance=min_sig,
            min_level_dbfs=min_level,
        )
        doc = res.as_dict()
        for key in ("path", "frames", "seconds", "channels"):
            doc.pop(key)
        doc["clips"] = len(per_clip)
        out.append(doc)
    return out


def run(
    inputs: list[Any],
    *,
    stride: str | None,
    min_sig: float,
    min_level: float,
    pooled: bool,
    fmt: str,
    output: Path | None,
    spectrum: Path | None,
    map_: Path | None,
    force: bool,
) -> None:
    """Score every input (:class:`cbdiag.batch.Input`) and write the document."""
    periods = stride_periods(stride) if stride is not None else None
    for out in (spectrum, map_):
        if out is not None:
            check_writable(out, force=force)
    if (spectrum or map_) and len(inputs) != 1:
        raise UsageError("--spectrum and --map need exactly one audio file")
    rows: list[dict[str, Any]] = []
    per_rate: dict[int, list[dict[int, LineStats]]] = {}
    for item in inputs:
        if item.error is not None:
            rows.append(_error_row(item.path, item.error))
            continue
        try:
            audio = load_audio(item.path)
            res = score_audio(
                audio, stride=periods, min_significance=min_sig, min_level_dbfs=min_level
            )
        except CbdiagError as exc:
            msg = str(exc)
            if not msg.startswith(display(item.path)):
                msg = f"{display(item.path)}: {msg}"
            rows.append(_error_row(item.path, msg))
            continue
        except MemoryError:
            rows.append(_error_row(item.path, f"{display(item.path)}: out of memory"))
            continue
        row = res.as_dict()
        row["error"] = None
        rows.append(row)
        if pooled:
            per_rate.setdefault(audio.rate, []).append(res.stats)
        if spectrum is not None or map_ is not None:
            _pictures(audio, res, spectrum, map_, force)
    pooled_docs = _pooled(per_rate, min_sig, min_level) if pooled else None
    if pooled and not pooled_docs:
        pooled_docs = [{"clips": 0, "flagged": False, "error": "no readable audio file to pool"}]
    settings = {"min_significance": min_sig, "min_level_dbfs": min_level, "stride": stride}
    text = _document(rows, pooled_docs, fmt, settings, output is None)
    if output is not None:
        from ..files import write_atomic

        data = text.encode("utf-8", "surrogateescape")
        write_atomic(output, lambda fh: fh.write(data), force=True)
    elif text:
        write_stdout(text)
    n_err = sum(1 for r in rows if r["error"])
    n_flag = sum(1 for r in rows if not r["error"] and r["flagged"])
    n_ok = len(rows) - n_err
    summary = f"scored {n_ok} audio file{'s' * (n_ok != 1)}, flagged {n_flag}, unreadable {n_err}"
    pooled_flag = any(d["flagged"] for d in pooled_docs or [])
    if pooled_docs is not None:
        summary += ", pooled " + ("FLAGGED" if pooled_flag else "not flagged")
    status(summary)
    if n_err:
        raise typer.Exit(2)
    if n_flag or pooled_flag:
        raise typer.Exit(1)


def _lines_hz(r: dict[str, Any], n: int = 4) -> str:
    return " ".join(f"{ln['hz']:g}" for ln in (r.get("lines") or [])[:n])


def _document(
    rows: list[dict[str, Any]],
    pooled: list[dict[str, Any]] | None,
    fmt: str,
    settings: dict[str, Any],
    terminal: bool,
) -> str:
    if fmt == "json":
        doc = envelope("score", kind="audio", **settings, results=rows)
        if pooled is not None:
            doc["pooled"] = pooled
        return dumps(doc) + "\n"
    if fmt == "json-lines":
        out = [json.dumps({"settings": {"kind": "audio", **settings}})]
        out += [json.dumps(r) for r in rows]
        out += [json.dumps({"pooled": p}) for p in pooled or []]
        return "\n".join(out) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([_csv_value(r, c) for c in CSV_COLUMNS])
        for p in pooled or []:
            w.writerow([_csv_value({**p, "path": _pool_label(p)}, c) for c in CSV_COLUMNS])
        return buf.getvalue()
    return _text(rows, pooled, settings, terminal)


def _csv_value(r: dict[str, Any], column: str) -> Any:
    if column == "lines_hz":
        return _lines_hz(r, 8)
    v = r.get(column)
    return "" if v is None else v


def _pool_label(p: dict[str, Any]) -> str:
    rate = f" at {p['sample_rate']} Hz" if p.get("sample_rate") else ""
    return f"(pooled: {p.get('clips', 0)} clips{rate})"


def _text(
    rows: list[dict[str, Any]],
    pooled: list[dict[str, Any]] | None,
    settings: dict[str, Any],
    terminal: bool,
) -> str:
    from ..render.layout import UNLIMITED, Column, emit, paragraph, table, width_of

    buf = io.StringIO()
    width = width_of(out_console()) if terminal else UNLIMITED
    console = out_console(width, file=buf)  # written out by the caller, to stdout or a file
    columns = [
        Column("path"),
        Column("flag", bare=True),
        Column("period", right=True),
        Column("spacing Hz", right=True),
        Column("level dBFS", right=True),
        Column("sigma", right=True),
        Column("notes", notes=True),
    ]
    table_rows: list[list[Any]] = []
    for r in [*rows, *({**p, "path": _pool_label(p)} for p in pooled or [])]:
        if r.get("error"):
            table_rows.append(
                [display(r["path"]), ("error", "bold red"), "-", "-", "-", "-", r["error"]]
            )
            continue
        flag = ("FLAGGED", "bold red") if r["flagged"] else ("ok", "green")
        lines = _lines_hz(r)
        note = f"lines at {lines} Hz" if r["period"] and lines else ""
        if r.get("seconds"):
            note = f"{r['sample_rate']} Hz, {r['seconds']:g} s" + (f"; {note}" if note else "")
        table_rows.append(
            [
                display(r["path"]),
                flag,
                str(r["period"] or "-"),
                "-" if r["line_spacing_hz"] is None else f"{r['line_spacing_hz']:g}",
                "-" if r["level_dbfs"] is None else f"{r['level_dbfs']:.1f}",
                f"{r['significance']:.1f}",
                note,
            ]
        )
    emit(console, table(columns, table_rows, width))
    legend = (
        f"FLAGGED: lines at k/P cycles per sample at least {settings['min_significance']:g} "
        f"sigma above their background and at least {settings['min_level_dbfs']:g} dBFS "
        "(the level of the periodic pattern; a full-scale sine is 0 dBFS); period P in "
        "samples, spacing = sample rate / P"
    )
    emit(console, paragraph(legend, width, rest="  "), "dim")
    return buf.getvalue()


def _pictures(
    audio: Any, res: AudioResult, spectrum: Path | None, map_: Path | None, force: bool
) -> None:
    from ..images import save_png
    from ..render import audio_png

    if spectrum is not None:
        save_png(audio_png.spectrogram(audio, res), spectrum, force=force)
        status(f"wrote {display(str(spectrum))}")
    if map_ is not None:
        period = res.period or max(res.periods)
        save_png(audio_png.timeline_png(audio, res, timeline(audio, period)), map_, force=force)
        status(f"wrote {display(str(map_))}")
