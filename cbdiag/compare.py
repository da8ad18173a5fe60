"""Every upsampler side by side: untrained outputs, their median score and phase contrast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .generator import Generator, GeneratorConfig, compare_configs, phase_contrast
from .images import MIN_SIZE
from .spectrum import score_image

__all__ = ["Column", "compare_upsamplers"]


@dataclass
class Column:
    """One upsampler: its name, configuration, images in ``[-1, 1]`` and measures."""

    name: str
    config: GeneratorConfig
    images: NDArray[np.float32]
    score: float | None
    phase_contrast: float | None

    @property
    def caption(self) -> str:
        s = "score n/a" if self.score is None else f"score {self.score:.2f}"
        p = "phase n/a" if self.phase_contrast is None else f"phase {self.phase_contrast:.2f}"
        return f"{s} · {p}"


def median_score(images: NDArray[np.float32]) -> float:
    """Median ``cbdiag score`` of generated images (``[-1, 1]`` mapped to ``[0, 1]``)."""
    return float(np.median([score_image((img + 1.0) / 2.0).score for img in images]))


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
        col = Column(
            name=name,
            config=cfg,
            images=imgs,
            score=median_score(imgs) if cfg.size >= MIN_SIZE else None,
            phase_contrast=phase_contrast(imgs, cfg.stride) if cfg.size > 5 * cfg.stride else None,
        )
        out.append(col)
        if on_column is not None:
            on_column(col)
    return out
