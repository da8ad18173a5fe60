"""Every upsampler side by side: untrained outputs, their pooled pattern and phase contrast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .generator import Generator, GeneratorConfig, compare_configs, phase_contrast
from .images import MIN_SIZE
from .spectrum import PooledResult, pool_results, score_image

__all__ = ["Column", "compare_upsamplers"]


@dataclass
class Column:
    """One upsampler: its name, configuration, images in ``[-1, 1]`` and measures: the median
    ``score`` of its images, the ``pooled`` pattern they share (``cbdiag score --pooled``) and
    the phase contrast."""

    name: str
    config: GeneratorConfig
    images: NDArray[np.float32]
    score: float | None
    phase_contrast: float | None
    pooled: PooledResult | None = None

    @property
    def caption(self) -> str:
        s = "pattern n/a" if self.pooled is None else f"{self.pooled.amplitude:.2f} grey levels"
        p = "phase n/a" if self.phase_contrast is None else f"phase {self.phase_contrast:.2f}"
        return f"{s} · {p}"


def compare_upsamplers(
    base: GeneratorConfig,
    rows: int,
    seed: int,
    batch_size: int = 16,
    on_column: Callable[[Column], None] | None = None,
) -> list[Column]:
    """The :data:`cbdiag.generator.COMPARE` columns on ``base``, same seed and width."""
    out = []
    for name, cfg in compare_configs(base):
        gen = Generator.build(cfg, seed)
        imgs = np.concatenate([b for _, b in gen.batches(rows, batch_size)])
        scored = [score_image((im + 1.0) / 2.0) for im in imgs] if cfg.size >= MIN_SIZE else []
        col = Column(
            name=name,
            config=cfg,
            images=imgs,
            score=float(np.median([r.score for r in scored])) if scored else None,
            phase_contrast=phase_contrast(imgs, cfg.stride) if cfg.size > 5 * cfg.stride else None,
            pooled=pool_results(scored) if scored else None,
        )
        out.append(col)
        if on_column is not None:
            on_column(col)
    return out
