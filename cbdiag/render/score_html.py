"""``cbdiag score --html DIR``: a static report of a batch, readable without a server.

``DIR/index.html`` holds, in this order: the verdict (counts, the thresholds, the pooled pattern
when ``--pooled`` was given), a card per flagged image with its power spectrum and its local-score
map, a gallery of thumbnails ordered by score (highest first) with amplitude and period, the table
of every image, and the files that could not be read. Every picture is a file in ``DIR`` named
relatively, so the folder can be moved, archived as a CI artefact or opened from disk; the page
has no script and loads nothing from the network.

Large batches: thumbnails are drawn for the :data:`MAX_THUMBS` highest scores and the pictures of
the :data:`MAX_FLAGGED` highest-scoring flagged images; the table lists every image.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import CbdiagError, OutputError, OutputExistsError
from ..files import display

#: Thumbnails drawn (the highest scores first); the table lists every image.
MAX_THUMBS = 200
#: Flagged images given a spectrum and a map.
MAX_FLAGGED = 50
#: Longest side of a thumbnail, in pixels.
THUMB = 160

_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".flag{color:#b00;font-weight:bold}.ok{color:#070}"
    ".gallery{display:flex;flex-wrap:wrap;gap:12px}.gallery figure{margin:0;width:170px}"
    ".gallery img{border:3px solid #ccc;image-rendering:pixelated}"
    ".gallery figure.flagged img{border-color:#c00}"
    "figcaption{font-size:12px}figcaption .path,h3,td.path,li{overflow-wrap:anywhere}"
    ".card{border:1px solid #ddd;padding:8px;margin:1em 0}.card img{max-width:48%;height:auto;"
    "vertical-align:top;margin:4px}"
)


def prepare(out: Path, force: bool) -> None:
    """Make the report folder before any image is scored: refused when it is a file, when it
    holds something (unless ``force``), or when it cannot be created, each with its reason."""
    from ..files import reason

    if out.exists() and not out.is_dir():
        raise OutputError(f"{display(out)} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(
            f"{display(out)} exists and is not empty; pass --force to write the report into it"
        )
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"cannot create {display(out)}: {display(parent)} is not a directory")
    if not parent.exists():
        raise OutputError(f"cannot create {display(out)}: {display(parent)} does not exist")
    try:
        (out / "img").mkdir(parents=True, exist_ok=True)
        probe = out / "img" / ".cbdiag-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write the report in {display(out)}: {reason(exc)}") from exc
    # pictures of an earlier report in this folder (--force): not left beside the new ones
    for old in (out / "img").glob("*.png"):
        if _OURS.match(old.name):
            old.unlink()


_OURS = re.compile(r"^(spectrum|map|thumb)_\d{6}\.png$")


def _n(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _period(r: dict[str, Any]) -> str:
    return f"period {r['period']}" if r["period"] else "no period"


def error_reason(r: dict[str, Any]) -> str:
    """The reason a file could not be read, without its name repeated in front."""
    text = display(str(r["error"]), 2000)
    name = display(r["path"])
    return text[len(name) + 2 :] if text.startswith(f"{name}: ") else text


def _order(results: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Readable results, highest score first (ties: flagged first, then input order)."""
    ok = [(i, r) for i, r in enumerate(results) if not r["error"]]
    return sorted(ok, key=lambda ir: (-(ir[1]["score"] or 0.0), not ir[1]["flagged"], ir[0]))


def write_report(
    out: Path,
    results: Sequence[dict[str, Any]],
    pooled: dict[str, Any] | None,
    legend: str,
    pictures: Callable[[str], tuple[Any, Any]],
    thumbnail: Callable[[str, int], Any],
    *,
    notes: Callable[[dict[str, Any]], str] = lambda r: "",
    command: str = "cbdiag score",
) -> list[str]:
    """Write ``out/index.html`` and its pictures; return the files written (relative names).

    ``pictures(path)`` gives the (spectrum, map) images of one image, ``thumbnail(path, side)``
    a small copy and ``notes(result)`` its diagnostics in words; they are given by the caller
    (the scoring layer), so that this module only lays out. A picture that cannot be made is
    left out with its reason on the page. ``command`` is shown at the foot of the page.
    """
    from ..images import save_png

    (out / "img").mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def save(img: Any, name: str) -> str:
        save_png(img, out / "img" / name, force=True)
        written.append(f"img/{name}")
        return f"img/{name}"

    ranked = _order(results)
    errors = [r for r in results if r["error"]]
    flagged = [(i, r) for i, r in ranked if r["flagged"]]
    n_ok = len(results) - len(errors)
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>cbdiag score report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Checkerboard report</h1>",
        '<section id="verdict"><h2>Verdict</h2>',
        f"<p><b>{n_ok}</b> image{'s' * (n_ok != 1)} scored, "
        f'<span class="{"flag" if flagged else "ok"}">{len(flagged)} flagged</span>, '
        f"{len(errors)} unreadable.</p>",
        f"<p>{e(legend)}</p>",
    ]
    if pooled is not None:
        if pooled.get("error"):
            parts.append(f"<p>Pooled: {e(str(pooled['error']))}</p>")
        else:
            verdict = (
                '<span class="flag">FLAGGED</span>'
                if pooled["flagged"]
                else '<span class="ok">not flagged</span>'
            )
            parts.append(
                f"<p>Pooled over {pooled.get('n_images', 0)} images (the fixed pattern they "
                f"share): {verdict}, amplitude {_n(pooled.get('amplitude'), '.3f')} grey levels, "
                f"{_n(pooled.get('significance'), '.1f')} sigma, period "
                f"{e(str(pooled.get('period') or '-'))}.</p>"
            )
    parts.append("</section>")

    parts.append('<section id="flagged"><h2>Flagged images</h2>')
    if not flagged:
        parts.append("<p>None.</p>")
    for k, (i, r) in enumerate(flagged[:MAX_FLAGGED]):
        name = e(display(r["path"]))
        parts.append(f'<div class="card" id="flagged-{k}"><h3>{name}</h3>')
        parts.append(
            f"<p>amplitude {r['amplitude']:.3f} grey levels at period {r['period']}, "
            f"{r['significance']:.1f} sigma, score {r['score']:.2f}</p>"
        )
        try:
            spec, tile_map = pictures(r["path"])
        except CbdiagError as exc:
            parts.append(f"<p>pictures not drawn: {e(str(exc))}</p></div>")
            continue
        s = save(spec, f"spectrum_{i:06d}.png")
        m = save(tile_map, f"map_{i:06d}.png")
        parts.append(
            f'<img src="{s}" alt="power spectrum of {name}" width="{spec.width}" '
            f'height="{spec.height}"><img src="{m}" alt="local-score map of {name}" '
            f'width="{tile_map.width}" height="{tile_map.height}"></div>'
        )
    if len(flagged) > MAX_FLAGGED:
        parts.append(
            f"<p>{len(flagged) - MAX_FLAGGED} more flagged images: in the table below.</p>"
        )
    parts.append("</section>")

    parts.append('<section id="gallery"><h2>All images, highest score first</h2>')
    parts.append('<div class="gallery">')
    for i, r in ranked[:MAX_THUMBS]:
        try:
            thumb = thumbnail(r["path"], THUMB)
        except CbdiagError:
            continue
        t = save(thumb, f"thumb_{i:06d}.png")
        cls = ' class="flagged"' if r["flagged"] else ""
        label = "FLAGGED" if r["flagged"] else "ok"
        parts.append(
            f'<figure{cls}><img src="{t}" alt="{e(display(r["path"]))}" width="{thumb.width}" '
            f'height="{thumb.height}"><figcaption><b>{label}</b> {r["score"]:.2f}: '
            f"{r['amplitude']:.3f} grey levels, period {r['period'] or '-'}<br>"
            f"{e(display(r['path']))}</figcaption></figure>"
        )
    parts.append("</div>")
    if len(ranked) > MAX_THUMBS:
        parts.append(f"<p>{len(ranked) - MAX_THUMBS} more images: in the table below.</p>")
    parts.append("</section>")

    parts.append('<section id="table"><h2>Every image</h2><table><thead><tr>')
    cols = ("image", "flagged", "score", "amplitude", "sigma", "period", "notes")
    parts.append("".join(f"<th>{c}</th>" for c in cols) + "</tr></thead><tbody>")
    for _, r in ranked:
        flag = '<td class="flag">yes</td>' if r["flagged"] else "<td>no</td>"
        parts.append(
            f'<tr><td class="path">{e(display(r["path"]))}</td>{flag}'
            f'<td class="n">{r["score"]:.2f}</td><td class="n">{r["amplitude"]:.3f}</td>'
            f'<td class="n">{r["significance"]:.1f}</td>'
            f'<td class="n">{r["period"] or "-"}</td><td>{e(notes(r))}</td></tr>'
        )
    parts.append("</tbody></table></section>")

    parts.append('<section id="errors"><h2>Unreadable files</h2>')
    if errors:
        parts.append("<ul>")
        parts += [f"<li>{e(display(r['path']))}: {e(error_reason(r))}</li>" for r in errors]
        parts.append("</ul>")
    else:
        parts.append("<p>None.</p>")
    parts.append("</section>")
    parts.append(
        f"<footer><p>Made by cbdiag {e(__version__)}: <code>{e(display(command, 2000))}</code>"
        "</p></footer></body></html>"
    )
    (out / "index.html").write_text("\n".join(parts) + "\n", encoding="utf-8")
    written.append("index.html")
    return written
