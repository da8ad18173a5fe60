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
score_pooled, pool_results
    The fixed pattern a set of images (one generator's samples) shares.
inspect_weights
    Per-phase DC gains of upsampling kernels in a checkpoint or arrays.
lint_paths
    Checkerboard-prone upsampling in model source code (never imported or run).
"""

from __future__ import annotations

from ._version import __version__
from .errors import CbdiagError
from .generator import GenerateResult, GeneratorConfig, generate
from .layers import Layer, deconv, parse_layers, preset
from .lint import LintResult, lint_paths
from .overlap import OverlapResult, overlap_map
from .spectrum import PooledResult, ScoreResult, pool_results, score_image, score_pooled
from .weights import InspectResult, inspect_weights

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
    "score_image",
    "score_pooled",
]
