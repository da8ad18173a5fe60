"""The API table: which calls are upsamplers (or strided convolutions), and where their
kernel, stride and dilation arguments are, by position and by keyword."""

from __future__ import annotations

from operator import attrgetter

from ..records import Record


class Arg(Record):
    """An argument read by position (0-based, ``None`` = keyword only) or by keyword."""

    pos: int | None
    names: tuple[str, ...]

    _fields = ("pos", "names")
    _key = attrgetter(*_fields)

    def __init__(self, pos: int | None, names: tuple[str, ...]) -> None:
        self.pos = pos
        self.names = names


class Target(Record):
    """A call cbdiag understands.

    ``kind``: ``deconv`` (transposed convolution), ``conv`` (strided convolution: gradient
    checkerboard), ``shuffle`` (pixel shuffle / depth-to-space). ``ndim`` spatial dimensions;
    ``kernel`` may be ``None`` when the kernel comes from a weight tensor (functional forms,
    read from the shape of a literal ``torch.randn(...)``-style weight when there is one).
    """

    name: str
    framework: str
    kind: str
    ndim: int
    kernel: Arg | None
    stride: Arg | None
    dilation: Arg | None = None
    weight: Arg | None = None
    default_stride: int = 1
    padding: Arg | None = None  # where 'same' / 'valid' is (Keras-style frameworks)
    default_padding: str | None = None
    #: False when the spatial dimensions are not known statically (MONAI's ``spatial_dims``
    #: from a parameter): checked per axis, ``ndim`` 1
    ndim_known: bool = True

    _fields = (
        "name",
        "framework",
        "kind",
        "ndim",
        "kernel",
        "stride",
        "dilation",
        "weight",
        "default_stride",
        "padding",
        "default_padding",
        "ndim_known",
    )
    _key = attrgetter(*_fields)

    def __init__(
        self,
        name: str,
        framework: str,
        kind: str,
        ndim: int,
        kernel: Arg | None,
        stride: Arg | None,
        dilation: Arg | None = None,
        weight: Arg | None = None,
        default_stride: int = 1,
        padding: Arg | None = None,
        default_padding: str | None = None,
        ndim_known: bool = True,
    ) -> None:
        self.name = name
        self.framework = framework
        self.kind = kind
        self.ndim = ndim
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.weight = weight
        self.default_stride = default_stride
        self.padding = padding
        self.default_padding = default_padding
        self.ndim_known = ndim_known


def _torch_module(cls: str, kind: str, ndim: int) -> Target:
    return Target(
        name=cls,
        framework="torch",
        kind=kind,
        ndim=ndim,
        kernel=Arg(2, ("kernel_size",)),
        stride=Arg(3, ("stride",)),
        dilation=Arg(8 if kind == "deconv" else 5, ("dilation",)),
    )


def _torch_lazy(cls: str, ndim: int) -> Target:
    # LazyConvTranspose*d(out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    # groups=1, bias=True, dilation=1, ...)
    return Target(
        cls,
        "torch",
        "deconv",
        ndim,
        Arg(1, ("kernel_size",)),
        Arg(2, ("stride",)),
        Arg(7, ("dilation",)),
    )


def _torch_functional(fn: str, ndim: int) -> Target:
    # conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
    # groups=1, dilation=1)
    return Target(
        fn,
        "torch",
        "deconv",
        ndim,
        None,
        Arg(3, ("stride",)),
        Arg(7, ("dilation",)),
        weight=Arg(1, ("weight",)),
    )


def _keras(cls: str, ndim: int) -> Target:
    # Conv2DTranspose(filters, kernel_size, strides=(1, 1), padding='valid', output_padding=None,
    # data_format=None, dilation_rate=(1, 1), ...)
    return Target(
        cls,
        "keras",
        "deconv",
        ndim,
        Arg(1, ("kernel_size",)),
        Arg(2, ("strides",)),
        Arg(6, ("dilation_rate",)),
    )


TARGETS: dict[str, Target] = {}

for _d in (1, 2, 3):
    for _prefix in ("torch.nn.", "torch.nn.modules.conv."):
        TARGETS[f"{_prefix}ConvTranspose{_d}d"] = _torch_module(f"ConvTranspose{_d}d", "deconv", _d)
        TARGETS[f"{_prefix}LazyConvTranspose{_d}d"] = _torch_lazy(f"LazyConvTranspose{_d}d", _d)
        TARGETS[f"{_prefix}Conv{_d}d"] = _torch_module(f"Conv{_d}d", "conv", _d)
    TARGETS[f"torch.nn.functional.conv_transpose{_d}d"] = _torch_functional(
        f"conv_transpose{_d}d", _d
    )
    TARGETS[f"torch.conv_transpose{_d}d"] = _torch_functional(f"conv_transpose{_d}d", _d)
    for _base in ("keras.layers.", "tensorflow.keras.layers.", "tf_keras.layers."):
        TARGETS[f"{_base}Conv{_d}DTranspose"] = _keras(f"Conv{_d}DTranspose", _d)
        TARGETS[f"{_base}Convolution{_d}DTranspose"] = _keras(f"Convolution{_d}DTranspose", _d)

for _d in (1, 2, 3):
    for _base in ("keras.layers.", "tensorflow.keras.layers.", "tf_keras.layers."):
        # Conv2D(filters, kernel_size, strides=(1, 1), padding, data_format, dilation_rate, ...)
        TARGETS[f"{_base}Conv{_d}D"] = Target(
            f"Conv{_d}D",
            "keras",
            "conv",
            _d,
            Arg(1, ("kernel_size",)),
            Arg(2, ("strides",)),
            Arg(5, ("dilation_rate",)),
        )

TARGETS["torch.nn.PixelShuffle"] = Target(
    "PixelShuffle", "torch", "shuffle", 2, None, Arg(0, ("upscale_factor",))
)
TARGETS["torch.nn.functional.pixel_shuffle"] = Target(
    "pixel_shuffle", "torch", "shuffle", 2, None, Arg(1, ("upscale_factor",))
)
TARGETS["tensorflow.nn.depth_to_space"] = Target(
    "depth_to_space", "tf", "shuffle", 2, None, Arg(1, ("block_size",))
)
# tf.nn.conv2d_transpose(input, filters, output_shape, strides, padding='SAME', ...)
TARGETS["tensorflow.nn.conv2d_transpose"] = Target(
    "conv2d_transpose",
    "tf",
    "deconv",
    2,
    None,
    Arg(3, ("strides",)),
    Arg(6, ("dilations",)),
    weight=Arg(1, ("filters",)),
)
# flax.linen.ConvTranspose(features, kernel_size, strides=None, padding='SAME',
# kernel_dilation=None, ...)
TARGETS["flax.linen.ConvTranspose"] = Target(
    "ConvTranspose",
    "flax",
    "deconv",
    2,
    Arg(1, ("kernel_size",)),
    Arg(2, ("strides",)),
    Arg(4, ("kernel_dilation",)),
)
# flax.nnx.ConvTranspose(in_features, out_features, kernel_size, strides=None, *, padding, ...,
# kernel_dilation=None, ...)
TARGETS["flax.nnx.ConvTranspose"] = Target(
    "ConvTranspose",
    "flax",
    "deconv",
    2,
    Arg(2, ("kernel_size",)),
    Arg(3, ("strides",)),
    Arg(None, ("kernel_dilation",)),
)

# TensorFlow 1: tf.layers.conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1),
# padding='valid', ...); tf.contrib.layers.conv2d_transpose(inputs, num_outputs, kernel_size,
# stride=1, padding='SAME', ...)
for _name in ("tensorflow.layers.", "tensorflow.compat.v1.layers."):
    for _d in (2, 3):
        TARGETS[f"{_name}conv{_d}d_transpose"] = Target(
            f"conv{_d}d_transpose",
            "keras",
            "deconv",
            _d,
            Arg(2, ("kernel_size",)),
            Arg(3, ("strides",)),
            None,
            padding=Arg(4, ("padding",)),
            default_padding="valid",
        )
        TARGETS[f"{_name}Conv{_d}DTranspose"] = _keras(f"Conv{_d}DTranspose", _d)
for _name in ("tensorflow.contrib.layers.", "tensorflow.contrib.slim.", "tf_slim."):
    TARGETS[f"{_name}conv2d_transpose"] = Target(
        "conv2d_transpose",
        "keras",
        "deconv",
        2,
        Arg(2, ("kernel_size",)),
        Arg(3, ("stride",)),
        None,
        padding=Arg(4, ("padding",)),
        default_padding="same",
    )

#: Containers whose arguments are applied in order (for the stacked-layers rule).
SEQUENTIALS = {
    "torch.nn.Sequential",
    "torch.nn.modules.container.Sequential",
    "keras.Sequential",
    "keras.models.Sequential",
    "tensorflow.keras.Sequential",
    "tensorflow.keras.models.Sequential",
    "flax.linen.Sequential",
    "flax.nnx.Sequential",
}

#: Containers whose items are numbered submodules (state-dict keys ``name.0``, ``name.1``).
MODULE_LISTS = {"torch.nn.ModuleList", "torch.nn.modules.container.ModuleList"}

#: Weight constructors whose shape is read for the functional forms.
SHAPED = {
    "torch.randn": "torch",
    "torch.rand": "torch",
    "torch.zeros": "torch",
    "torch.ones": "torch",
    "torch.empty": "torch",
    "tensorflow.random.normal": "tf",
    "tensorflow.zeros": "tf",
    "tensorflow.ones": "tf",
}

#: OpenMMLab's (mmcv's) layers made from a config dict: ``ConvModule(in_channels,
#: out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias, conv_cfg=None,
#: ...)`` and the builders ``build_conv_layer(cfg, *args, **kwargs)`` /
#: ``build_upsample_layer(cfg, *args, **kwargs)``, whose ``args`` are the layer's own. Each is a
#: transposed convolution when its config's ``type`` is one of :data:`DECONV_TYPES` (the other
#: keys of the config, ``output_padding`` for one, go to the layer).
CONV_MODULES = {
    "mmcv.cnn.ConvModule",
    "mmcv.cnn.bricks.ConvModule",
    "mmcv.cnn.bricks.conv_module.ConvModule",
}
LAYER_BUILDERS = {
    "mmcv.cnn.build_conv_layer",
    "mmcv.cnn.bricks.build_conv_layer",
    "mmcv.cnn.bricks.conv.build_conv_layer",
    "mmcv.cnn.build_upsample_layer",
    "mmcv.cnn.bricks.build_upsample_layer",
    "mmcv.cnn.bricks.upsample.build_upsample_layer",
}
#: Config types naming a transposed convolution, with its spatial dimensions: mmcv registers
#: ``ConvTranspose2d`` as itself and as ``deconv`` (``ConvTranspose3d`` as ``deconv3d``);
#: MMagic (formerly MMEditing) registers ``nn.ConvTranspose2d`` as ``Deconv``.
DECONV_TYPES = {
    "deconv": 2,
    "Deconv": 2,
    "ConvTranspose2d": 2,
    "deconv3d": 3,
    "ConvTranspose3d": 3,
    "ConvTranspose1d": 1,
}
#: The names of those calls, and the transposed convolution each makes (its arguments read as
#: ``ConvTranspose*d``'s), by name and spatial dimensions.
CONFIGURED_NAMES = ("ConvModule", "build_conv_layer", "build_upsample_layer")
CONFIGURED = {
    (name, d): _torch_module(name, "deconv", d) for name in CONFIGURED_NAMES for d in (1, 2, 3)
}

#: MONAI's blocks that are transposed convolutions, as its source (Project-MONAI/MONAI,
#: ``monai/networks``) builds them: ``Convolution(spatial_dims, in_channels, out_channels,
#: strides=1, kernel_size=3, ..., dilation=1 (10th), ..., is_transposed=False (14th),
#: padding=None, output_padding=None)`` is a ``ConvTranspose{spatial_dims}d`` when
#: ``is_transposed``, padded ``(k - 1) // 2 * dilation`` with output padding ``stride - 1`` by
#: default; ``UpSample(spatial_dims, in_channels, out_channels, scale_factor=2,
#: kernel_size=None, size, mode='deconv')`` in its deconv modes has kernel ``scale_factor``
#: unless given one (then padded ``(k - 1) // 2``, output padding ``s - 1 - (k - 1) % 2``);
#: ``UNet(spatial_dims, in_channels, out_channels, channels, strides, kernel_size=3,
#: up_kernel_size=3, ...)`` upsamples with a transposed ``Convolution`` of kernel
#: ``up_kernel_size`` for each of ``strides[:len(channels) - 1]``.
MONAI_CONVOLUTION = frozenset(
    f"monai.networks.blocks{m}.Convolution" for m in ("", ".convolutions")
)  # fmt: skip
MONAI_UPSAMPLE = frozenset(
    f"monai.networks.blocks{m}.{n}" for m in ("", ".upsample") for n in ("UpSample", "Upsample")
)
MONAI_UNET = frozenset(
    f"monai.networks.nets{m}.{n}" for m in ("", ".unet") for n in ("UNet", "Unet")
)
#: MONAI's networks whose transposed convolutions are even by construction: ``BasicUNet``
#: (its ``UpCat`` upsamples with ``UpSample(scale_factor=2)``, kernel = scale factor, in the
#: default ``upsample="deconv"``), ``DynUNet``, ``UNETR`` and ``SwinUNETR`` (their up blocks
#: use ``stride = kernel_size = upsample_kernel_size``).
MONAI_EVEN_NETS = {
    f"monai.networks.nets{m}.{n}": n
    for m, names in (
        ("", ("BasicUNet", "BasicUnet", "DynUNet", "DynUnet", "UNETR", "SwinUNETR")),
        (".basic_unet", ("BasicUNet", "BasicUnet")),
        (".dynunet", ("DynUNet", "DynUnet")),
        (".unetr", ("UNETR",)),
        (".swin_unetr", ("SwinUNETR",)),
    )
    for n in names
}  # fmt: skip
MONAI = {
    (name, d): Target(name, "monai", "deconv", max(d, 1), Arg(2, ("kernel_size",)),
                      Arg(3, ("stride",)), Arg(8, ("dilation",)), ndim_known=d > 0)
    for name in ("Convolution", "UpSample", "UNet", *set(MONAI_EVEN_NETS.values()))
    for d in (0, 1, 2, 3)  # (0: spatial_dims not known statically)
}  # fmt: skip
#: PyTorch's convolutions of a number of spatial dimensions not known statically (MONAI's
#: ``Conv[Conv.CONVTRANS, spatial_dims]``, ``nn.ConvTranspose2d if d == 2 else
#: nn.ConvTranspose3d``): pseudo-names (no such class exists), checked per axis.
ANY_DIMS = {"deconv": "torch.nn.ConvTransposeNd", "conv": "torch.nn.ConvNd"}
for _kind, _q in ANY_DIMS.items():
    TARGETS[_q] = Target(
        _q.rsplit(".", 1)[1], "torch", _kind, 1, Arg(2, ("kernel_size",)), Arg(3, ("stride",)),
        Arg(8 if _kind == "deconv" else 5, ("dilation",)), ndim_known=False,
    )  # fmt: skip
#: Each PyTorch convolution class of a fixed number of dimensions, and its pseudo-name.
OF_ANY_DIMS = {
    f"torch.nn.{cls}{d}d": ANY_DIMS[kind]
    for cls, kind in (("ConvTranspose", "deconv"), ("Conv", "conv"))
    for d in (1, 2, 3)
} | {q: q for q in ANY_DIMS.values()}
#: MONAI's layer factory: ``Conv[Conv.CONVTRANS, d]`` (the name also as a string, any case)
#: is ``torch.nn.ConvTranspose{d}d``, ``Conv[Conv.CONV, d]`` ``torch.nn.Conv{d}d``.
MONAI_CONV_FACTORY = frozenset(f"monai.networks.layers{m}.Conv" for m in ("", ".factories"))
MONAI_FACTORY_KINDS = {"CONVTRANS": ("ConvTranspose", "deconv"), "CONV": ("Conv", "conv")}

#: MONAI's enum of UpSample's modes (a string enum: ``UpsampleMode.DECONV == "deconv"``).
MONAI_UPSAMPLE_MODES = frozenset(f"monai.utils{m}.UpsampleMode" for m in ("", ".enums"))
#: MONAI's ``ensure_tuple_rep(value, dim)``: a scalar repeated ``dim`` times, a sequence of
#: ``dim`` items as it is (its kernel sizes and strides go through it).
MONAI_TUPLE_REP = frozenset(f"monai.utils{m}.ensure_tuple_rep" for m in ("", ".misc"))

#: The library names cbdiag models: a linted tree that is that library (a checkout of MONAI or
#: mmcv) has its own definitions of them read as the model, not interpreted.
MODELLED = (
    MONAI_CONVOLUTION | MONAI_UPSAMPLE | MONAI_UNET | MONAI_CONV_FACTORY | MONAI_TUPLE_REP
    | MONAI_UPSAMPLE_MODES | set(MONAI_EVEN_NETS) | CONV_MODULES | LAYER_BUILDERS
)  # fmt: skip

#: Substrings a file must contain before it is parsed at all.
PREFILTER = (
    "Transpose",
    "transpose",
    "Conv",
    "conv",
    "PixelShuffle",
    "pixel_shuffle",
    "depth_to_space",
    "Sequential",
    "UpSample",
    "UNet",
    "Unet",
    "CONVTRANS",
    "UNETR",
)
