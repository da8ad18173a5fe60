"""Going on with an interrupted ``cbdiag score --output FILE``: ``--resume FILE``.

The rows already in FILE (CSV or JSON lines) are read back: their paths are skipped, their
verdicts still count in the summary and the exit code, and new rows are appended. A line cut
short by the interruption, and a pooled row written at the end of an earlier run, are removed
first.

Beside FILE, ``FILE.cbdiag.npz`` holds the run's settings (so a resume with other thresholds,
another stride or format is refused, CSV included) and, with ``--pooled``, the statistics of
the rows written so far with the length of FILE they account for, rewritten (atomically)
every few seconds where rows and statistics agree. On a pooled resume FILE is cut back to that
length, so the pooled statistics and the rows always describe the same images; the rows after
it are scored again.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .batch import Seen, Stats, path_key
from .errors import CbdiagError, UsageError
from .files import display, reason
from .periodic import PhaseStats
from .report.score import csv_columns

#: The file beside the output that holds the run's settings and pooled statistics.
SUFFIX = ".cbdiag.npz"


def state_file(output: str) -> str:
    return output + SUFFIX


@dataclass
class Written:
    """What an output already holds: the keys of its paths, its counts, where new rows go."""

    done: Seen = field(default_factory=Seen)
    rows: int = 0
    flagged: int = 0
    errors: int = 0
    offset: int = 0  # bytes of the file that are kept
    header: bool = False  # the header (CSV) or settings line (JSON lines) is there
    stats: Stats = field(default_factory=dict)
    checked: bool = True  # its settings were compared with this run's

    def count(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self.done.add(path_key(str(row.get("path", ""))))
        if row.get("error"):
            self.errors += 1
        elif row.get("flagged"):
            self.flagged += 1


def read(output: str, fmt: str, fields: dict[str, Any], *, pooled: bool) -> Written:
    """The rows of ``output`` written with the same format and settings (``fields``)."""
    w = Written()
    try:
        size = os.path.getsize(output)
    except FileNotFoundError:
        return w  # nothing yet: the run starts from the beginning
    except OSError as exc:
        raise CbdiagError(f"--resume {display(output)}: {reason(exc)}") from None
    limit = size
    side = state_file(output)
    state = _load_state(side, output) if os.path.exists(side) else None
    if state is not None:
        _same(state.settings, {"format": fmt, **fields}, output)
    if pooled:
        if state is not None and state.stats is not None:
            limit, w.stats = state.offset, state.stats
            if limit > size:
                raise CbdiagError(
                    f"--resume {display(output)}: the file is shorter than its pooled "
                    f"statistics ({display(side)}) say it was; it was changed since"
                )
        elif size:
            raise CbdiagError(
                f"--resume {display(output)} --pooled: the pooled statistics of its rows "
                f"({display(side)}) are missing, so the pool cannot be completed; resume "
                "without --pooled, or start again"
            )
    try:
        with open(output, "rb") as fh:  # line by line: an output of millions of rows is fine
            lines = _lines(fh, limit)
            if fmt == "csv":
                _read_csv(lines, output, fields, w)
            else:
                _read_jsonl(lines, output, fields, w)
    except OSError as exc:
        raise CbdiagError(f"--resume {display(output)}: {reason(exc)}") from None
    w.checked = state is not None or fmt != "csv"
    return w


def _lines(fh: Any, limit: int) -> Iterator[tuple[int, bytes]]:
    """The complete lines of the first ``limit`` bytes, with their end offsets; a last line
    without its newline (cut by the interruption) is left out."""
    end = 0
    for raw in fh:
        if end + len(raw) > limit or not raw.endswith(b"\n"):
            return
        end += len(raw)
        yield end, raw


def _read_jsonl(
    lines: Iterator[tuple[int, bytes]], output: str, fields: dict[str, Any], w: Written
) -> None:
    for n, (end, raw) in enumerate(lines, 1):
        try:
            obj = json.loads(raw.decode("utf-8", "surrogateescape"))
        except ValueError:
            raise CbdiagError(
                f"--resume {display(output)}: line {n} is not JSON; not a file cbdiag wrote "
                "with --format json-lines"
            ) from None
        if not isinstance(obj, dict):
            raise CbdiagError(f"--resume {display(output)}: line {n} is not a JSON object")
        if n == 1:
            if obj.get("tool") != "cbdiag" or obj.get("format") != "json-lines":
                raise CbdiagError(
                    f"--resume {display(output)}: its first line is not the settings line of "
                    "cbdiag score --format json-lines"
                )
            _same(obj, fields, output)
            w.header = True
        elif "pooled" in obj:
            return  # the end of an earlier run: written again at the end of this one
        elif "path" in obj:
            w.count(obj)
        else:
            raise CbdiagError(f"--resume {display(output)}: line {n} is not a result row")
        w.offset = end


def _read_csv(
    lines: Iterator[tuple[int, bytes]], output: str, fields: dict[str, Any], w: Written
) -> None:
    last = 0  # the end of the last line the reader took (a quoted field may span lines)

    def feed() -> Iterator[str]:
        nonlocal last
        for end, raw in lines:
            last = end
            yield raw.decode("utf-8", "surrogateescape")

    reader = csv.reader(feed())
    columns = csv_columns(fields["stride"])
    for n, values in enumerate(reader, 1):
        end = last
        if n == 1:
            if values != columns:
                raise CbdiagError(
                    f"--resume {display(output)}: its columns are not those this run writes "
                    "(another --stride, or not a file of cbdiag score --format csv)"
                )
            w.header = True
        elif values and values[0].startswith("(pooled"):
            return
        else:
            if len(values) != len(columns):
                raise CbdiagError(
                    f"--resume {display(output)}: row {n} has {len(values)} fields, not "
                    f"{len(columns)}"
                )
            row = dict(zip(columns, values, strict=False))
            w.count(
                {
                    "path": row["path"],
                    "flagged": row["flagged"] == "True",
                    "error": row["error"] or None,
                }
            )
        w.offset = end


def _same(header: dict[str, Any], fields: dict[str, Any], output: str) -> None:
    for k, v in fields.items():
        if k not in header and k == "format":
            continue
        if header.get(k) != v:
            if k == "format":
                raise UsageError(
                    f"--resume {display(output)}: it was written with --format "
                    f"{header.get(k)}, this run has --format {v}"
                )
            flag = "--" + k.replace("_", "-")
            raise UsageError(
                f"--resume {display(output)}: it was written with {flag} "
                f"{_shown(header.get(k))}, this run has {_shown(v)}; resume with the same "
                "settings"
            )


def _shown(v: Any) -> str:
    return "(not given)" if v is None else str(v)


@dataclass
class State:
    """What ``FILE.cbdiag.npz`` holds."""

    settings: dict[str, Any]
    offset: int
    stats: Stats | None


def _load_state(side: str, output: str) -> State:
    try:
        with np.load(side, allow_pickle=False) as z:
            settings = json.loads(str(z["settings"]))
            offset = int(z["offset"])
            stats: Stats | None = None
            if bool(z["pooled"]):
                stats = {}
                for s in (int(p) for p in z["periods"]):
                    ring = z.get(f"ring_{s}")
                    stats[s] = PhaseStats(
                        s,
                        z[f"coef_{s}"],
                        z[f"null_{s}"],
                        int(z[f"pixels_{s}"]),
                        int(z[f"n_images_{s}"]),
                        z[f"npix_{s}"],
                        ring,
                    )
    except (OSError, ValueError, KeyError) as exc:
        why = reason(exc) if isinstance(exc, OSError) else "not a file cbdiag wrote"
        raise CbdiagError(f"--resume {display(output)}: {display(side)}: {why}") from None
    if not isinstance(settings, dict):
        raise CbdiagError(f"--resume {display(output)}: {display(side)}: not a file cbdiag wrote")
    return State(settings, offset, stats)


def save_state(side: str, settings: dict[str, Any], offset: int, stats: Stats | None) -> None:
    """Write the run's settings and, for a pooled run, its statistics and the output length
    they account for (atomically: a kill leaves the previous state whole)."""
    arrays: dict[str, Any] = {
        "settings": np.array(json.dumps(settings)),
        "offset": np.int64(offset),
        "pooled": np.bool_(stats is not None),
        "periods": np.array(sorted(stats or {}), dtype=np.int64),
    }
    for s, st in (stats or {}).items():
        arrays[f"coef_{s}"] = st.coef
        arrays[f"null_{s}"] = st.null
        arrays[f"pixels_{s}"] = np.int64(st.pixels)
        arrays[f"n_images_{s}"] = np.int64(st.n_images)
        arrays[f"npix_{s}"] = st.weights()
        if st.ring is not None:
            arrays[f"ring_{s}"] = st.ring
    tmp = f"{side}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, side)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CbdiagError(f"cannot write {display(side)}: {reason(exc)}") from None
