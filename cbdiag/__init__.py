"""cbdiag: diagnose checkerboard artifacts of transposed convolutions and strided upsamplers.

Public API
----------
overlap_map
    Exact overlap (path-count) map of a layer stack, forward or gradient.
parse_layers, preset, deconv
    Build layer stacks from text, presets or parameters.
generate, GeneratorConfig
    Images of untrained generators (numpy), one upsampler at a time.
"""

from __future__ import annotations

from ._version import __version__
from .errors import CbdiagError
from .generator import GenerateResult, GeneratorConfig, generate
from .layers import Layer, deconv, parse_layers, preset
from .overlap import OverlapResult, overlap_map

__all__ = [
    "CbdiagError",
    "GenerateResult",
    "GeneratorConfig",
    "Layer",
    "OverlapResult",
    "__version__",
    "deconv",
    "generate",
    "overlap_map",
    "parse_layers",
    "preset",
]
