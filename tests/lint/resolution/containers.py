# layer lists built in loops, Sequential(*layers), Keras model.add, comprehensions
import tensorflow as tf
import torch.nn as nn
from tensorflow.keras import layers


class GlobalGenerator(nn.Module):
    def __init__(self, ngf=64, n_downsampling=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        model = [nn.Conv2d(3, ngf, kernel_size=7, padding=3), norm_layer(ngf), nn.ReLU(True)]
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1, output_padding=1),  # <- CBD101
                norm_layer(ngf * mult // 2),
                nn.ReLU(True),
            ]
        self.model = nn.Sequential(*model)  # <- CBD104


def make_generator_model():
    model = tf.keras.Sequential()  # <- CBD104
    model.add(layers.Dense(7 * 7 * 256, use_bias=False, input_shape=(100,)))
    model.add(layers.Reshape((7, 7, 256)))
    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same"))
    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same"))  # <- CBD101
    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same"))  # <- CBD101
    return model


def even_stack():
    layers_ = []
    for _ in range(2):
        layers_.append(nn.ConvTranspose2d(8, 8, 4, 2, 1))
        layers_.append(nn.ReLU())
    return nn.Sequential(*layers_)


def unknown_count(n):
    blocks = []
    for _ in range(n):
        blocks.append(nn.ConvTranspose2d(8, 8, 3, 2, 1, 1))  # <- CBD101
    return nn.Sequential(*blocks)


class ResBlock(nn.Module):  # stride-1 convolutions only
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))


class UpBlock(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(c, c, k, 2), nn.ReLU())


class Feedback(nn.Module):
    def __init__(self, c, kernel_size, stride):
        super().__init__()
        # one transposed convolution and nothing that could hold another: not a stack
        self.one = nn.Sequential(nn.ConvTranspose2d(c, c, kernel_size, stride), nn.PReLU())  # not a stack
        model = [ResBlock(c) for _ in range(3)]
        model += [nn.ConvTranspose2d(c, c, kernel_size, stride), nn.ReLU()]
        self.after_blocks = nn.Sequential(*model)  # not a stack
        # a module of the tree holding a transposed convolution: a stack whose kernels are unknown
        self.two = nn.Sequential(UpBlock(c, kernel_size), nn.ConvTranspose2d(c, c, 4, 2))  # ? a layer of the container


class Generator(nn.Module):  # (as a CycleGAN ResNet generator)
    def __init__(self, c):
        super().__init__()
        model = [nn.Conv2d(3, c, 7, padding=3), nn.Conv2d(c, c, 3, 2, 1)]
        model += [ResBlock(c) for _ in range(2)]  # blocks of convolutions before the upsamplers
        model += [nn.ConvTranspose2d(c, c, 3, 2, 1, 1), nn.ConvTranspose2d(c, c, 3, 2, 1, 1)]  # <- CBD101 # <- CBD101
        self.model = nn.Sequential(*model)  # <- CBD104
        # a block of convolutions between two upsamplers may resample: not known
        between = [nn.ConvTranspose2d(c, c, 3, 2, 1, 1), ResBlock(c), nn.ConvTranspose2d(c, c, 3, 2, 1, 1)]  # <- CBD101 # <- CBD101
        self.between = nn.Sequential(*between)  # ? a layer of the container


class Skip(nn.Module):  # (as a pix2pix U-Net block): every transposed convolution k4 s2
    def __init__(self, c, sub=None, innermost=False):
        super().__init__()
        up = nn.ConvTranspose2d(c, c, 4, 2, 1)
        model = [nn.Conv2d(c, c, 4, 2, 1), up] if innermost else [nn.Conv2d(c, c, 4, 2, 1), sub, up]
        self.model = nn.Sequential(*model)  # not a stack


def unet(c):
    inner = Skip(c, innermost=True)
    return Skip(c, Skip(c, inner))
