# MONAI's layer factory `Conv[name, spatial_dims]` (a ConvTranspose{d}d, or of a number of
# dimensions not known statically), its ensure_tuple_rep, and layers chosen by a condition
import torch.nn as nn
from monai.networks.layers import Conv
from monai.networks.layers.factories import Conv as C2
from monai.utils import ensure_tuple_rep


def literal_dims(c):
    up = Conv[Conv.CONVTRANS, 2]
    return up(c, c, kernel_size=3, stride=2, padding=1)  # <- CBD101


def string_name(c):
    return C2[C2.CONVTRANS, 3](c, c, kernel_size=4, stride=2, padding=1)


def any_dims(c, spatial_dims):
    return Conv[Conv.CONVTRANS, spatial_dims](c, c, kernel_size=5, stride=2)  # <- CBD101


def repeated(c, spatial_dims, scale_factor=2, kernel_size=3):
    k = ensure_tuple_rep(kernel_size, spatial_dims)
    s = ensure_tuple_rep(scale_factor, 3)
    return Conv[Conv.CONVTRANS, 3](c, c, kernel_size=k, stride=s)  # <- CBD101


def plain(c, spatial_dims):
    return Conv[Conv.CONV, spatial_dims](c, c, kernel_size=3, stride=2)


def chosen(c, is_transposed):
    conv_type = Conv[Conv.CONVTRANS if is_transposed else Conv.CONV, 2]
    return conv_type(c, c, kernel_size=3, stride=2)  # ? the layer is `ConvTranspose2d` or `Conv2d`


def get_conv_layer(spatial_dim=3, transpose=False):  # (as MONAI's MedNeXt blocks)
    if spatial_dim == 2:
        return nn.ConvTranspose2d if transpose else nn.Conv2d
    return nn.ConvTranspose3d if transpose else nn.Conv3d


def up_block(c, dim, kernel_size=7):
    conv = get_conv_layer(spatial_dim=2 if dim == "2d" else 3, transpose=True)
    return conv(c, c, kernel_size=kernel_size, stride=2, padding=kernel_size // 2)  # <- CBD101


def same_value(c, patch_size, spatial_dims):
    up = [int(p**0.5) for p in ensure_tuple_rep(patch_size, spatial_dims)]
    return Conv[Conv.CONVTRANS, spatial_dims](c, c, kernel_size=up, stride=up)


def sliced(c, kernels=(3, 4, 4), strides=(1, 2, 2)):
    layers = []
    for k, s in zip(kernels[1:], strides[1:]):
        layers.append(nn.ConvTranspose2d(c, c, k, s, 1))
    odd = nn.ConvTranspose2d(c, c, kernels[:1][0], strides[-1], 1)  # <- CBD101
    return layers, odd


def formatted(c, spatial_dims=2):
    name = f"{spatial_dims}d"
    conv = nn.ConvTranspose2d if name == "2d" else nn.Conv3d
    return conv(c, c, kernel_size=3, stride=2)  # <- CBD101


def chosen_even(c, is_transposed):  # even as a transposed convolution: clean either way
    conv_type = Conv[Conv.CONVTRANS if is_transposed else Conv.CONV, 2]
    return conv_type(c, c, kernel_size=4, stride=2, padding=1)


def chosen_by_torch(c, up):
    layer = nn.ConvTranspose2d if up else nn.Conv2d
    odd = layer(c, c, 5, 2)  # ? (as a transposed convolution: ConvTranspose2d kernel 5 not
    even = layer(c, c, 6, 3)
    return odd, even
