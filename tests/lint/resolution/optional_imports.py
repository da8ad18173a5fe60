# An optional import: `try: from mmcv.ops import conv_transpose2d` (mmcv's drop-in for torch's)
# whose `except ImportError:` binds torch's function, or None (then the name can only be called
# when the import worked)
import torch

try:
    from mmcv.ops import conv_transpose2d
except ImportError:
    import torch.nn.functional as F

    conv_transpose2d = F.conv_transpose2d

try:
    from mmcv.ops import conv_transpose2d as ct
except (ModuleNotFoundError, ImportError):
    ct = None

try:
    from mmcv.ops import conv_transpose2d as other
except Exception:
    other = None

w = torch.randn(8, 8, 3, 3)


def forward(x, weight):
    a = conv_transpose2d(x, w, stride=2)  # <- CBD101
    b = ct(x, w, stride=2)  # <- CBD101
    c = other(x, w, stride=2)  # (a handler for any error: `other` may be None, not followed)
    d = ct(x, weight, stride=2)  # ? the weight's shape is not known statically
    return a, b, c, d
