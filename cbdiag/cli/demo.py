"""``cbdiag demo``: the whole story in one command, on built-in defaults."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..demo import run_demo
from ..files import display
from ..report import dumps, envelope
from ._common import Format, err_console, handle_errors, show_table, write_stdout
from ._common import show as say

HELP = """Show what cbdiag is for, end to end, in well under a minute, with nothing to download.

Computes the overlap maps of k3s2, k4s2, a stacked generator and the CycleGAN and pix2pixHD
presets; generates untrained outputs for every upsampler (fixed seed) and scores them; scores
the bundled sample images, lints the bundled sample models and inspects the sample checkpoint
(from samples/ in a source checkout, or --samples DIR). Writes a report folder: PNG figures,
a static index.html explaining each in a sentence, and demo.json; prints a summary table.
Deterministic; never writes into a non-empty folder without --force."""


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("cbdiag-demo"),
    samples: Annotated[
        Path | None, typer.Option("--samples", help="The samples folder (default: ./samples).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
) -> None:
    with handle_errors():
        t0 = time.perf_counter()
        err = err_console()
        show = err.is_terminal and fmt == Format.text
        res = run_demo(
            out,
            samples=samples,
            force=force,
            progress=(lambda s: err.print(f"{s}...", style="dim")) if show else None,
        )
        elapsed = time.perf_counter() - t0
        if fmt == Format.json:
            data = json.loads((res.out / "demo.json").read_text())
            write_stdout(
                dumps(
                    envelope(
                        "demo",
                        out=str(res.out),
                        files=res.files,
                        sections={k: data[k] for k in res.sections},
                        summary=res.summary,
                    )
                )
            )
            return
        from ..render.layout import Column

        rows: list[list[Any]] = []
        styles: list[str | None] = []
        for row in res.summary:
            bad = (
                "FLAGGED" in row["result"]
                or "uneven" in row["result"]
                or row["result"] == "imbalanced"
            )
            styles.append("bold red" if bad else None)
            rows.append([row["step"], row["item"], row["result"]])
        show_table([Column("step"), Column("item"), Column("result", notes=True)], rows, styles)
        say(
            f"wrote {len(res.files)} files to {display(str(res.out))}/ (open "
            f"{display(str(res.out / 'index.html'))}) in {elapsed:.1f} s"
        )
        if res.sections.get("samples") is None:
            say(
                "no samples/ folder found: the score, lint and weights steps were "
                "skipped (run from a source checkout or pass --samples)",
                style="dim",
            )
