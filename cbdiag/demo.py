"""``cbdiag demo``: the whole story on built-in defaults, written as a report folder.

Overlap maps (k3s2, k4s2, a stacked generator, the CycleGAN and pix2pixHD presets), untrained
outputs of every upsampler with their scores, the scores of the bundled sample images, the lint
of the bundled sample models, and the weights of a sample checkpoint: PNG figures, one static
``index.html`` explaining each in a sentence, and ``demo.json``. Deterministic (fixed seeds, no
timestamps).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .compare import compare_upsamplers
from .errors import OutputError, OutputExistsError
from .generator import GeneratorConfig
from .images import IMAGE_EXTENSIONS, save_png
from .layers import parse_layers, stack_label
from .lint import lint_paths
from .overlap import overlap_map
from .render.overlap_png import render_png
from .render.panel import auto_scale, compare_panel, to_uint8
from .render.score_png import spectrum_png
from .render.weights_png import weights_png
from .report.lint import display_path
from .spectrum import score_image
from .weights import inspect_weights

__all__ = ["DemoResult", "find_samples", "run_demo"]

OVERLAPS = (
    (
        "overlap_k3s2",
        "deconv k3 s2",
        "A 3x3, stride-2 transposed convolution: kernel not "
        "divisible by the stride, so interior pixels receive 1, 2 or 4 taps (max/min 4).",
    ),
    (
        "overlap_k4s2",
        "deconv k4 s2 p1",
        "A 4x4, stride-2 transposed convolution: the kernel is "
        "divisible by the stride and every interior pixel receives 4 taps.",
    ),
    (
        "overlap_stacked",
        "2x deconv k3 s2 p1 op1",
        "Two stacked k3 s2 layers: the unevenness "
        "compounds into the pattern [1, 3, 2, 3] per axis, max/min 9 in 2-D.",
    ),
    (
        "overlap_cyclegan",
        "cyclegan",
        "CycleGAN's ResnetGenerator upsampler: its final 7x7 "
        "convolution averages most of the pattern away, not all of it.",
    ),
    (
        "overlap_pix2pixhd",
        "pix2pixhd",
        "pix2pixHD's global generator: four k3 s2 layers leave "
        "a period-16 pattern (max/min 2.1) even after the 7x7 convolution.",
    ),
)


@dataclass
class DemoResult:
    """What the demo computed and wrote (``summary`` rows are also the terminal table)."""

    out: Path
    files: list[str] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)


def find_samples(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The ``samples/`` folder: given, in the working directory, or beside the package (a
    source checkout). ``None`` when there is none (a plain install): those steps are skipped."""
    cands = (
        [Path(explicit)]
        if explicit
        else [Path.cwd() / "samples", Path(__file__).resolve().parent.parent / "samples"]
    )
    for c in cands:
        if (c / "models").is_dir():
            return c
    return None


def _prepare(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} exists and is not empty; pass --force to overwrite it")
    if not out.parent.is_dir():
        raise OutputError(f"cannot create {out}: {out.parent} does not exist")
    out.mkdir(exist_ok=True)


def run_demo(
    out: str | os.PathLike[str] = "cbdiag-demo",
    *,
    samples: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run every step and write the report folder ``out`` (never over a non-empty folder
    without ``force``)."""
    note = progress or (lambda _s: None)
    dest = Path(out)
    _prepare(dest, force)
    res = DemoResult(out=dest)

    def save(img: Any, name: str) -> str:
        save_png(img, dest / name, force=True)
        res.files.append(name)
        return name

    # 1. overlap maps ----------------------------------------------------------------------
    note("overlap maps")
    overlaps = []
    for name, spec, text in OVERLAPS:
        r = overlap_map(parse_layers(spec))
        fig = save(render_png(r), f"{name}.png")
        ratio = None if r.holes else round(r.ratio_2d, 3)
        overlaps.append(
            {
                "figure": fig,
                "layers": stack_label(r.layers),
                "ratio_2d": ratio,
                "even": r.even,
                "period": list(r.period),
                "text": text,
            }
        )
        res.summary.append(
            {
                "step": "overlap",
                "item": stack_label(r.layers),
                "result": "even"
                if r.even
                else ("holes" if ratio is None else f"uneven, max/min {ratio:g}"),
            }
        )
    res.sections["overlap"] = overlaps

    # 2. untrained generators ----------------------------------------------------------------
    note("untrained generators")
    base = GeneratorConfig(size=64, width=32)
    columns = compare_upsamplers(base, rows=3, seed=0)
    panel = compare_panel(
        [(c.name, c.caption, to_uint8(c.images)) for c in columns],
        title="untrained 64x64 generators, seed 0, width 32",
        scale=auto_scale(base.size),
    )
    gen_rows: list[dict[str, Any]] = []
    gens: dict[str, Any] = {"figure": save(panel, "generators.png"), "columns": gen_rows}
    for c in columns:
        flagged = c.pooled is not None and c.pooled.flagged
        amp = c.pooled.amplitude if c.pooled is not None else None
        gen_rows.append(
            {
                "upsampler": c.name,
                "pooled_amplitude": _r(amp),
                "median_score": _r(c.score),
                "phase_contrast": _r(c.phase_contrast),
                "flagged": flagged,
            }
        )
        res.summary.append(
            {
                "step": "generate",
                "item": c.name,
                "result": ("-" if amp is None else f"pattern {amp:.2f} grey levels")
                + (" FLAGGED" if flagged else ""),
            }
        )
    k3 = columns[0]
    spec_res = score_image((k3.images[0] + 1.0) / 2.0, keep_spectrum=True)
    spec_res.path = "untrained deconv k3s2 output"
    gens["spectrum"] = save(spectrum_png(spec_res), "spectrum_deconv_k3s2.png")
    res.sections["generate"] = gens

    # 3. scores of the bundled images, 4. lint, 5. weights -----------------------------------
    sdir = find_samples(samples)
    # named as given, or "samples" (the bundled folder): the report is the same wherever it runs
    res.sections["samples"] = (
        None if sdir is None else display_path(str(samples)) if samples else "samples"
    )
    scores: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    weights: dict[str, Any] | None = None
    if sdir is not None:
        note("scoring sample images")
        for p in sorted(sdir.iterdir()):
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.name.startswith(("untrained", "partial")):
                s = score_image(p)
                scores.append(
                    {
                        "image": p.name,
                        "amplitude": _r(s.amplitude),
                        "significance": _r(s.significance),
                        "score": _r(s.score),
                        "flagged": s.flagged,
                        "period": s.period,
                    }
                )
                res.summary.append(
                    {
                        "step": "score",
                        "item": p.name,
                        "result": f"{s.amplitude:.2f} grey levels, {s.significance:.0f} sigma"
                        + (" FLAGGED" if s.flagged else ""),
                    }
                )
        note("linting sample models")
        lint = lint_paths([sdir / "models"])
        for v in lint.violations:
            findings.append(
                {"file": Path(v.path).name, "line": v.line, "code": v.code, "message": v.message}
            )
        res.summary.append(
            {
                "step": "lint",
                "item": "samples/models",
                "result": f"{len(lint.violations)} findings in {lint.files} files",
            }
        )
        ckpt = sdir / "weights_dcgan_icnr.safetensors"
        if ckpt.exists():
            note("inspecting sample weights")
            ins = inspect_weights(ckpt, stride=2)
            weights = {
                "figure": save(weights_png(ins), "weights.png"),
                "layers": [
                    {"name": r.name, "imbalance": _r(r.imbalance), "verdict": r.verdict}
                    for r in ins.layers
                ],
            }
            for rep in ins.layers:
                res.summary.append({"step": "inspect", "item": rep.name, "result": rep.verdict})
    res.sections["score"] = scores
    res.sections["lint"] = findings
    res.sections["weights"] = weights

    (dest / "demo.json").write_text(
        json.dumps(
            {
                "tool": "cbdiag",
                "version": __version__,
                "command": "demo",
                **res.sections,
                "summary": res.summary,
            },
            indent=2,
        )
        + "\n"
    )
    res.files.append("demo.json")
    (dest / "index.html").write_text(render_html(res))
    res.files.append("index.html")
    return res


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def _cell(v: Any) -> str:
    """A table cell as a reader wants it: yes/no for booleans, a dash for nothing."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "-"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(res: DemoResult) -> str:
    """A static page, no JavaScript, images referenced relatively."""
    s = res.sections
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>cbdiag {__version__} demo</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;line-height:1.5}"
        "img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}figure{margin:1.5em 0}"
        "</style></head><body>",
        f"<h1>cbdiag {__version__}: checkerboard artifacts, before and after training</h1>",
        "<p>Transposed convolutions whose kernel size is not divisible by the stride give output "
        "pixels uneven numbers of contributions; the unevenness multiplies across axes, "
        "compounds across layers, shows with random untrained weights, and resize-then-"
        "convolve avoids it (Odena, Dumoulin and Olah, Distill 2016). This report shows it from "
        "the architecture, the images, the weights and the code.</p>",
        '<section id="summary"><h2>Summary</h2>',
        _table(res.summary, ["step", "item", "result"]),
        "</section>",
        '<section id="overlap"><h2>1. Overlap maps (from the architecture)</h2>',
    ]
    for o in s["overlap"]:
        parts.append(
            f'<figure><img src="{html.escape(o["figure"])}" alt="{html.escape(o["layers"])}">'
            f"<figcaption><b>{html.escape(o['layers'])}</b>: {html.escape(o['text'])}"
            "</figcaption></figure>"
        )
    g = s["generate"]
    parts += [
        "</section>",
        '<section id="generate"><h2>2. Untrained generators (before training)</h2>',
        f'<figure><img src="{html.escape(g["figure"])}" alt="untrained generators">'
        "<figcaption>The same seed and width through every upsampler: deconvolutions (even k4 "
        "s2) and plain sub-pixel convolution paint a grid before any training; "
        "resize-convolution and ICNR do not. Each column is captioned with the fixed pattern its "
        "samples share (<code>cbdiag score --pooled</code>), in grey levels."
        "</figcaption></figure>",
        _table(
            g["columns"],
            ["upsampler", "pooled_amplitude", "median_score", "phase_contrast", "flagged"],
        ),
        f'<figure><img src="{html.escape(g["spectrum"])}" alt="power spectrum">'
        "<figcaption>The power spectrum of one deconv k3s2 output: lines at the stride "
        "frequencies k/2, circled, are what <code>cbdiag score</code> measures."
        "</figcaption></figure>",
        "</section>",
        '<section id="score"><h2>3. Scores of the sample images (after training)</h2>',
    ]
    if s["score"]:
        parts.append(
            _table(s["score"], ["image", "amplitude", "significance", "score", "flagged", "period"])
        )
    else:
        parts.append("<p>No samples folder found: run the demo from a source checkout.</p>")
    parts += ["</section>", '<section id="lint"><h2>4. Lint of the sample models (in CI)</h2>']
    if s["lint"]:
        parts.append(_table(s["lint"], ["file", "line", "code", "message"]))
    else:
        parts.append("<p>No findings, or no samples folder.</p>")
    parts += ["</section>", '<section id="weights"><h2>5. The weights</h2>']
    w = s["weights"]
    if w:
        parts.append(
            f'<figure><img src="{html.escape(w["figure"])}" alt="per-phase responses">'
            "<figcaption>Per-phase responses to a constant input of a DCGAN-shaped decoder at "
            "PyTorch's initialisation (imbalanced although k4 is divisible by s2) and an ICNR "
            "sub-pixel head (balanced).</figcaption></figure>"
        )
        parts.append(_table(w["layers"], ["name", "imbalance", "verdict"]))
    else:
        parts.append("<p>No sample checkpoint found.</p>")
    parts.append("</section></body></html>")
    return "\n".join(parts) + "\n"
