"""``cbdiag generate``: outputs of untrained generators with different upsamplers."""

from __future__ import annotations

import math
import os
import tempfile
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .._malloc import keep_freed_memory
from ..compare import compare_upsamplers
from ..errors import CbdiagError, OutputError, OutputExistsError, UsageError
from ..files import display, reason, usual_permissions
from ..generator import (
    MAX_COUNT,
    MAX_MEMORY,
    Generator,
    GeneratorConfig,
    compare_configs,
    phase_contrast,
)
from ..images import check_writable, save_png
from ..render.panel import auto_scale, compare_panel, grid, to_uint8
from ..report import dumps, envelope, num
from ._common import Format, err_console, handle_errors, show, show_table, write_stdout

HELP = """Generate images with an untrained DCGAN-style generator, to see what its upsampler
paints before any training.

A latent goes through a k4 s1 projection to 4x4, then upsampling stages (each x stride, batch
norm + ReLU, tanh at the end) up to --size. --upsample picks the stage: deconv (with --kernel,
--stride, --padding), resize-nearest or resize-bilinear (+ conv 3x3), subpixel or
subpixel-icnr (conv 3x3 + pixel shuffle). --source smooth|constant upsamples a fixed smooth
feature map of size --base instead of a latent: the pure geometry.

--compare writes one panel with a column per upsampler (deconv k3s2, deconv k4s2,
resize-nearest, resize-bilinear, subpixel, subpixel-ICNR), same seed and width, each captioned
with the fixed pattern its samples share (`cbdiag score --pooled`, grey levels) and its phase
contrast (0 = no checkerboard).

Weights and inputs come from --seed (numpy PCG64: the same on every machine); batch norm uses
the statistics of each --batch-size batch, as an untrained GAN in training mode does. Existing
files are never overwritten without --force."""


class Upsample(str, Enum):
    deconv = "deconv"
    resize_nearest = "resize-nearest"
    resize_bilinear = "resize-bilinear"
    subpixel = "subpixel"
    subpixel_icnr = "subpixel-icnr"


class Norm(str, Enum):
    batch = "batch"
    none = "none"


class Init(str, Enum):
    torch = "torch"
    dcgan = "dcgan"
    he = "he"


class Source(str, Enum):
    latent = "latent"
    smooth = "smooth"
    constant = "constant"


class Normalize(str, Enum):
    stretch = "stretch"
    range = "range"


def _progress(enabled: bool) -> Progress:
    console = err_console()
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


def _sample_paths(out_dir: Path, count: int, start: int = 0) -> list[Path]:
    return [out_dir / f"sample_{i:05d}.png" for i in range(start, start + count)]


def _check_space(path: Path, need: int) -> None:
    """Refuse an array file that would not fit on its disk (before the file is made)."""
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if need > free:
        raise OutputError(
            f"cannot write {display(path)}: the array needs {need:,} bytes and its disk has "
            f"{free:,} free"
        )


def _check_outputs(
    out: Path | None, out_dir: Path | None, npy: Path | None, count: int, force: bool
) -> None:
    """Refuse before any work: existing files without --force, missing or unwritable places."""
    if out is not None:
        check_writable(out, force=force)
    if npy is not None:
        check_writable(npy, force=force)
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"{out_dir} exists and is not a directory")
        if out_dir.is_dir():
            if not os.access(out_dir, os.W_OK):
                raise OutputError(f"directory {out_dir} is not writable")
            if not force:
                clash = next((p for p in _sample_paths(out_dir, count) if p.exists()), None)
                if clash is not None:
                    raise OutputExistsError(f"{clash} exists; pass --force to overwrite it")
        elif not out_dir.parent.is_dir():
            raise OutputError(f"cannot create {out_dir}: {out_dir.parent} does not exist")


def generate(
    size: Annotated[int, typer.Option("--size", help="Output size (4 * stride**depth).")] = 64,
    upsample: Annotated[
        Upsample,
        typer.Option(
            "--upsample",
            "-u",
            metavar="NAME",
            help="The upsampling stage: " + ", ".join(u.value for u in Upsample) + ".",
        ),
    ] = Upsample.deconv,
    kernel: Annotated[
        int | None, typer.Option("--kernel", "-k", help="deconv kernel size (default 4).")
    ] = None,
    stride: Annotated[int, typer.Option("--stride", "-s", help="Upsampling factor per stage.")] = 2,
    padding: Annotated[
        int | None,
        typer.Option("--padding", "-p", help="deconv padding (default: exact x stride)."),
    ] = None,
    width: Annotated[int, typer.Option("--width", help="Channels of the last hidden stage.")] = 64,
    max_width: Annotated[
        int, typer.Option("--max-width", help="Channel cap of early stages.")
    ] = 512,
    latent: Annotated[int, typer.Option("--latent", help="Latent size.")] = 100,
    channels: Annotated[int, typer.Option("--channels", help="Output channels, 1 or 3.")] = 3,
    norm: Annotated[
        Norm, typer.Option("--norm", help="Normalisation between stages.")
    ] = Norm.batch,
    init: Annotated[Init, typer.Option("--init", help="Weight initialisation.")] = Init.torch,
    source: Annotated[
        Source, typer.Option("--source", help="latent, or a fixed smooth/constant feature map.")
    ] = Source.latent,
    base: Annotated[
        int, typer.Option("--base", help="Feature-map size for --source smooth|constant.")
    ] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed of weights and inputs.")] = 0,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", help="Samples (default 16; rows of --compare, default 4)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Samples per batch.")] = 16,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="PNG grid (default generated.png, compare.png)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="Also write each sample as its own PNG here.")
    ] = None,
    npy: Annotated[
        Path | None,
        typer.Option("--npy", help="Also write the raw float32 array (N, H, W, C) to this .npy."),
    ] = None,
    normalize: Annotated[
        Normalize,
        typer.Option("--normalize", help="PNG levels: per-image stretch, or the [-1, 1] range."),
    ] = Normalize.stretch,
    grid_max: Annotated[int, typer.Option("--grid-max", help="Most samples in the grid.")] = 64,
    compare: Annotated[
        bool, typer.Option("--compare", help="One panel, a column per upsampler.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    max_memory: Annotated[
        float,
        typer.Option(
            "--max-memory",
            help=f"Memory budget in GiB of the weights and one batch (default "
            f"{MAX_MEMORY >> 30}); a bigger job is refused before it starts.",
            show_default=False,
        ),
    ] = MAX_MEMORY / (1 << 30),
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr (a TTY).")
    ] = True,
    dims: Annotated[
        int,
        typer.Option(
            "--dims",
            help="2: images; 1: audio, an untrained 1-D upsampler stack (vocoder-shaped) "
            "written as WAV files with a panel of their spectrograms.",
        ),
    ] = 2,
    rates: Annotated[
        str,
        typer.Option("--rates", help="--dims 1: the stack's upsampling rates, input to output."),
    ] = "8x8x2x2",
    sample_rate: Annotated[
        int, typer.Option("--sample-rate", help="--dims 1: the WAV files' sample rate (Hz).")
    ] = 22050,
    seconds: Annotated[
        float, typer.Option("--seconds", help="--dims 1: the length of each clip.")
    ] = 1.2,
) -> None:
    with handle_errors():
        if dims not in (1, 2):
            raise UsageError(f"--dims for generate is 1 (audio) or 2 (images), got {dims}")
        if dims == 1:
            _audio(
                upsample.value, compare, kernel, width if width != 64 else None, source.value,
                seed, rates, sample_rate, seconds, out, out_dir, fmt, force,
            )  # fmt: skip
            return
        if upsample != Upsample.deconv and (kernel is not None or padding is not None):
            raise UsageError("--kernel/--padding apply to --upsample deconv only")
        n = count if count is not None else (4 if compare else 16)
        if not 1 <= n <= MAX_COUNT:
            raise UsageError(f"--count must be from 1 to {MAX_COUNT:,}, got {n}")
        if not 0 <= seed < 2**63:
            raise UsageError(f"--seed must be from 0 to 2**63 - 1, got {seed}")
        if not (max_memory > 0 and math.isfinite(max_memory)):
            raise UsageError(f"--max-memory must be a positive number of GiB, got {max_memory}")
        budget = int(max_memory * (1 << 30))
        if batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
        batch_size = min(batch_size, n)
        if grid_max < 1:
            raise UsageError(f"--grid-max must be >= 1, got {grid_max}")
        cfg = GeneratorConfig(
            size=size,
            upsample=upsample.value,
            kernel=kernel if kernel is not None else 4,
            stride=stride,
            padding=padding,
            width=width,
            max_width=max_width,
            latent=latent,
            channels=channels,
            norm=norm.value,
            init=init.value,
            source=source.value,
            base=base,
        )
        if compare:
            if upsample != Upsample.deconv or out_dir is not None or npy is not None:
                raise UsageError("--compare makes its own columns: drop --upsample/--out-dir/--npy")
            target = out or Path("compare.png")
            check_writable(target, force=force)
            for _name, c in compare_configs(cfg):
                c.check_budget(batch_size, budget)
            _compare(cfg, n, seed, batch_size, target, normalize.value, fmt, force, progress)
            return
        target = out or Path("generated.png")
        cfg.check_budget(batch_size, budget)
        _check_outputs(target, out_dir, npy, n, force)
        if npy is not None:
            _check_space(npy, 4 * n * cfg.size * cfg.size * cfg.channels)
        _single(
            cfg,
            n,
            seed,
            batch_size,
            target,
            out_dir,
            npy,
            normalize.value,
            grid_max,
            fmt,
            force,
            progress,
        )


def _audio(
    upsample: str,
    compare: bool,
    kernel: int | None,
    width: int | None,
    source: str,
    seed: int,
    rates: str,
    sample_rate: int,
    seconds: float,
    out: Path | None,
    out_dir: Path | None,
    fmt: Format,
    force: bool,
) -> None:
    """``generate --dims 1``: the clips of untrained 1-D stacks, scored, and their spectrograms."""
    from scipy.io import wavfile

    from ..audio import Audio, score_audio, stride_periods
    from ..files import write_atomic
    from ..generator1d import VocoderConfig, generate_1d
    from ..render.audio_png import spectrogram

    names = {"deconv": "deconv", "resize-nearest": "resize-nearest"}
    names |= {"resize-bilinear": "resize-linear", "subpixel": "subpixel"}
    if upsample not in names:
        raise UsageError(f"--upsample {upsample} has no 1-D form (1-D: {', '.join(names)})")
    if source not in ("latent", "smooth"):
        raise UsageError("--source for --dims 1 is latent (noise frames) or smooth")
    if not 8000 <= sample_rate <= 384_000:
        raise UsageError(f"--sample-rate must be from 8000 to 384000, got {sample_rate}")
    if not (0.2 <= seconds <= 600):
        raise UsageError(f"--seconds must be from 0.2 to 600, got {seconds}")
    try:
        periods = stride_periods(rates)
    except CbdiagError as exc:
        raise UsageError(str(exc).replace("--stride", "--rates")) from None
    factors = tuple(int(r) for r in rates.lower().split("x"))
    kinds = list(dict.fromkeys(names.values())) if compare else [names[upsample]]
    folder = out_dir or Path("generated_audio")
    panel = out or Path("generated_audio.png")
    wavs = [folder / f"{k}.wav" for k in kinds]
    check_writable(panel, force=force)
    if folder.exists():
        for path in wavs:
            check_writable(path, force=force)
    else:
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot make {display(str(folder))}: {reason(exc)}") from exc
    hop = int(np.prod(factors))
    frames = max(8, math.ceil(seconds * sample_rate / hop))
    rows, pictures = [], []
    for kind, wav in zip(kinds, wavs, strict=True):
        cfg = VocoderConfig(
            upsample=kind,
            rates=factors,
            kernel=kernel if kind == "deconv" else None,
            width=width if width is not None else 64,
            frames=frames,
            source="noise" if source == "latent" else "smooth",
        )
        y = generate_1d(cfg, seed)
        pcm = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)

        def write(fh: Any, pcm: Any = pcm) -> None:
            wavfile.write(fh, sample_rate, pcm)

        write_atomic(wav, write, force=force)
        audio = Audio(pcm[:, None].astype(np.float64) / 32768, sample_rate, str(wav))
        res = score_audio(audio, stride=periods)
        pictures.append(spectrogram(audio, res))
        rows.append({"upsampler": kind, "stack": cfg.describe(), "wav": str(wav), **res.as_dict()})
    from PIL import Image

    width_px = max(p.width for p in pictures)
    sheet = Image.new("RGB", (width_px, sum(p.height for p in pictures)), (255, 255, 255))
    y0 = 0
    for pic in pictures:
        sheet.paste(pic, (0, y0))
        y0 += pic.height
    save_png(sheet, panel, force=force)
    if fmt == Format.json:
        write_stdout(dumps(envelope("generate", dims=1, rates=list(factors), clips=rows)) + "\n")
        return
    from ..render.layout import Column

    show_table(
        [
            Column("upsampler"),
            Column("wav"),
            Column("period", right=True),
            Column("level dBFS", right=True),
            Column("sigma", right=True),
            Column("flag", bare=True),
        ],
        [
            [
                r["upsampler"],
                display(r["wav"]),
                str(r["period"] or "-"),
                "-" if r["level_dbfs"] is None else f"{r['level_dbfs']:.1f}",
                f"{r['significance']:.1f}",
                ("FLAGGED", "bold red") if r["flagged"] else ("ok", "green"),
            ]
            for r in rows
        ],
    )
    show(f"wrote {display(str(panel))} (spectrograms) and {len(wavs)} WAV files", style="dim")


def _single(
    cfg: GeneratorConfig,
    count: int,
    seed: int,
    batch_size: int,
    target: Path,
    out_dir: Path | None,
    npy: Path | None,
    normalize: str,
    grid_max: int,
    fmt: Format,
    force: bool,
    progress: bool,
) -> None:
    t0 = time.perf_counter()
    keep_freed_memory()
    gen = Generator.build(cfg, seed)
    shape = (count, cfg.size, cfg.size, cfg.channels)
    mm = tmp_npy = None
    keep: list[np.ndarray] = []
    contrast_sum, contrast_n = 0.0, 0
    measurable = cfg.size > 4 * cfg.stride + cfg.stride
    try:
        if npy is not None:
            fd, tmp_npy = tempfile.mkstemp(prefix=".cbdiag-", suffix=".npy", dir=npy.parent or ".")
            os.close(fd)
            mm = np.lib.format.open_memmap(tmp_npy, mode="w+", dtype=np.float32, shape=shape)
        if out_dir is not None:
            out_dir.mkdir(exist_ok=True)
        with _progress(progress and count > batch_size) as bar:
            task = bar.add_task("generating", total=count)
            for off, imgs in gen.batches(count, batch_size):
                u8 = to_uint8(imgs, normalize)
                if out_dir is not None:
                    from PIL import Image

                    for i, path in enumerate(_sample_paths(out_dir, len(imgs), off)):
                        img = u8[i, :, :, 0] if cfg.channels == 1 else u8[i]
                        save_png(Image.fromarray(np.ascontiguousarray(img)), path, force=force)
                if mm is not None:
                    mm[off : off + len(imgs)] = imgs
                if sum(len(k) for k in keep) < grid_max:
                    keep.append(u8[: grid_max - sum(len(k) for k in keep)])
                if measurable:
                    contrast_sum += phase_contrast(imgs, cfg.stride) * len(imgs)
                    contrast_n += len(imgs)
                bar.advance(task, len(imgs))
        if mm is not None and npy is not None and tmp_npy is not None:
            mm.flush()
            del mm
            check_writable(npy, force=force)  # still not a device or a directory
            usual_permissions(tmp_npy)
            os.replace(tmp_npy, npy)
            tmp_npy = None
    except OSError as exc:
        raise OutputError(f"cannot write {display(npy or target)}: {reason(exc)}") from exc
    finally:
        if tmp_npy is not None and os.path.exists(tmp_npy):
            os.unlink(tmp_npy)
    shown = np.concatenate(keep)
    save_png(grid(shown, scale=auto_scale(cfg.size, 96)), target, force=force)
    contrast = contrast_sum / contrast_n if contrast_n else None
    elapsed = time.perf_counter() - t0
    files: dict[str, Any] = {
        "grid": str(target),
        "out_dir": None if out_dir is None else str(out_dir),
        "npy": None if npy is None else str(npy),
    }
    if fmt == Format.json:
        write_stdout(
            dumps(
                envelope(
                    "generate",
                    config=cfg.as_dict(),
                    seed=seed,
                    count=count,
                    batch_size=batch_size,
                    normalize=normalize,
                    phase_contrast=None if contrast is None else num(contrast),
                    files=files,
                    seconds=round(elapsed, 3),
                )
            )
        )
        return
    show(
        f"{count} samples of an untrained {cfg.size}x{cfg.size} generator "
        f"({cfg.describe()}, {cfg.depth} stages, width {cfg.width}, init {cfg.init}, "
        f"norm {cfg.norm}, source {cfg.source}, seed {seed}) in {elapsed:.2f} s"
    )
    if contrast is not None:
        show(f"phase contrast (period {cfg.stride}): {contrast:.4f} (0 = no checkerboard)")
    show(
        f"wrote {display(str(target))}"
        + (f", {count} PNGs in {display(str(out_dir))}" if out_dir else "")
        + (f", {display(str(npy))}" if npy else "")
    )


def _compare(
    base: GeneratorConfig,
    rows: int,
    seed: int,
    batch_size: int,
    target: Path,
    normalize: str,
    fmt: Format,
    force: bool,
    progress: bool,
) -> None:
    t0 = time.perf_counter()
    keep_freed_memory()
    with _progress(progress) as bar:
        task = bar.add_task("upsamplers", total=6)
        columns = compare_upsamplers(
            base, rows, seed, batch_size, on_column=lambda _c: bar.advance(task)
        )
    cols = [(c.name, c.caption, to_uint8(c.images, normalize)) for c in columns]
    results = [
        {
            "upsampler": c.name,
            "config": c.config.as_dict(),
            "score": None if c.score is None else num(round(c.score, 4)),
            "pooled_amplitude": None if c.pooled is None else num(round(c.pooled.amplitude, 4)),
            "pooled_flagged": None if c.pooled is None else c.pooled.flagged,
            "phase_contrast": None if c.phase_contrast is None else num(c.phase_contrast),
        }
        for c in columns
    ]
    title = (
        f"untrained {base.size}x{base.size} generators, seed {seed}, width {base.width}, "
        f"init {base.init}, norm {base.norm}, source {base.source}"
    )
    save_png(compare_panel(cols, title=title, scale=auto_scale(base.size)), target, force=force)
    elapsed = time.perf_counter() - t0
    if fmt == Format.json:
        write_stdout(
            dumps(
                envelope(
                    "generate",
                    mode="compare",
                    seed=seed,
                    rows=rows,
                    batch_size=batch_size,
                    normalize=normalize,
                    columns=results,
                    files={"panel": str(target)},
                    seconds=round(elapsed, 3),
                )
            )
        )
        return
    from ..render.layout import Column

    table_columns = [
        Column("upsampler"),
        Column("pooled pattern", right=True),
        Column("flagged"),
        Column("median score", right=True),
        Column("phase contrast", right=True),
    ]
    table_rows: list[list[Any]] = []
    for r in results:
        pc, sc, amp = r["phase_contrast"], r["score"], r["pooled_amplitude"]
        table_rows.append(
            [
                str(r["upsampler"]),
                "n/a" if amp is None else f"{amp:.2f}",
                {True: "yes", False: "no", None: "n/a"}[r["pooled_flagged"]],  # type: ignore[index]
                "n/a" if sc is None else f"{sc:.3f}",
                "n/a" if pc is None else f"{pc:.4f}",
            ]
        )
    show(title)
    show_table(table_columns, table_rows)
    show(f"wrote {display(str(target))} in {elapsed:.2f} s")
