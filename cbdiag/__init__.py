"""cbdiag: diagnose checkerboard artifacts of transposed convolutions and strided upsamplers.

Public API
----------
overlap_map
    Exact overlap (path-count) map of a layer stack, forward or gradient.
parse_layers, preset, deconv
    Build layer stacks from text, presets or parameters.
generate, GeneratorConfig
    Images of untrained generators (numpy), one upsampler at a time.
score_image
    The periodic pattern of one image (array or path): amplitude in grey levels, significance,
    period, diagnostics.
score_many
    Many images (files, folders, listings) scored as a stream, here, in processes or on a Dask
    cluster; each result handed out as it completes.
score_pooled, pool_results
    The fixed pattern a set of images (one generator's samples) shares.
score_audio
    The tonal lines an audio upsampler paints into a clip (file or array): period, level in
    dBFS, significance, the lines in Hz.
inspect_weights
    Per-phase DC gains of upsampling kernels in a checkpoint or arrays.
lint_paths
    Checkerboard-prone upsampling in model source code (never imported or run).
"""

from __future__ import annotations

from ._version import __version__

# Names are imported when first used (PEP 562), so ``import cbdiag`` and the command line pay
# only for what they use: ``cbdiag lint`` never loads numpy's FFT or the image readers.
_EXPORTS = {
    "CbdiagError": "errors",
    "score_many": "batch",
    "score_audio": "audio",
    "GenerateResult": "generator",
    "GeneratorConfig": "generator",
    "generate": "generator",
    "Layer": "layers",
    "deconv": "layers",
    "parse_layers": "layers",
    "preset": "layers",
    "LintResult": "lint",
    "lint_paths": "lint",
    "OverlapResult": "overlap",
    "overlap_map": "overlap",
    "PooledResult": "spectrum",
    "ScoreResult": "spectrum",
    "pool_results": "spectrum",
    "score_image": "spectrum",
    "score_pooled": "spectrum",
    "InspectResult": "weights",
    "inspect_weights": "weights",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .audio import score_audio
    from .batch import score_many
    from .errors import CbdiagError
    from .generator import GenerateResult, GeneratorConfig, generate
    from .layers import Layer, deconv, parse_layers, preset
    from .lint import LintResult, lint_paths
    from .overlap import OverlapResult, overlap_map
    from .spectrum import PooledResult, ScoreResult, pool_results, score_image, score_pooled
    from .weights import InspectResult, inspect_weights


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cbdiag' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CbdiagError",
    "GenerateResult",
    "GeneratorConfig",
    "InspectResult",
    "Layer",
    "LintResult",
    "OverlapResult",
    "PooledResult",
    "ScoreResult",
    "__version__",
    "deconv",
    "generate",
    "inspect_weights",
    "lint_paths",
    "overlap_map",
    "parse_layers",
    "pool_results",
    "preset",
    "score_audio",
    "score_image",
    "score_many",
    "score_pooled",
]
