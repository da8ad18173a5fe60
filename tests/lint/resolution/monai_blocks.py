# MONAI: Convolution(..., is_transposed=True), UpSample in its deconv modes and UNet are
# transposed convolutions, padded as MONAI pads them
import monai
from monai.networks.blocks import Convolution, UpSample
from monai.networks.nets import UNet

# the tutorials' 3-D segmentation U-Net: up_kernel_size 3, strides 2
net = UNet(3, 1, 2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2)  # <- CBD101
ok = UNet(spatial_dims=2, in_channels=1, out_channels=1, channels=(8, 16), strides=(3,))
unused = UNet(2, 1, 1, channels=(8, 16), strides=(3, 2))  # (the last stride is not used)
alias = monai.networks.nets.Unet(2, 1, 1, (4, 8, 16), (2, 1), up_kernel_size=5)  # <- CBD101
up = Convolution(2, 8, 8, strides=2, kernel_size=3, is_transposed=True)  # <- CBD101
even = Convolution(2, 8, 8, 2, 4, is_transposed=True, padding=1, output_padding=0)
down = Convolution(2, 8, 8, strides=2, kernel_size=3)  # (not transposed)
deconv = UpSample(2, 8, 8, scale_factor=2)  # (kernel = scale_factor)
odd = UpSample(3, 8, 8, 2, 3)  # <- CBD101
resize = UpSample(2, 8, 8, mode="nontrainable")


def build(strides, k=3):
    return UNet(2, 1, 1, (8, 16, 32), strides, up_kernel_size=k)  # ? strides: parameter strides of `build`


def maybe(c, use_convtranspose, mode, kernel=3):  # (as MAISI's upsample and SegResNet's)
    a = Convolution(3, c, c, strides=2, kernel_size=3, is_transposed=use_convtranspose)  # ? is_transposed: parameter use_convtranspose
    b = Convolution(3, c, c, strides=2, kernel_size=4, padding=1, is_transposed=use_convtranspose)
    e = UpSample(3, c, c, scale_factor=2, mode=mode)  # (kernel = scale_factor in a deconv mode)
    f = UpSample(3, c, c, 2, kernel, mode=mode)  # ? mode: parameter mode of `maybe`
    return a, b, e, f


def enum(c):
    from monai.utils import UpsampleMode

    return UpSample(2, c, c, 2, 5, mode=UpsampleMode.DECONV)  # <- CBD101
