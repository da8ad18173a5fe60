"""A Flax (linen) decoder: one uneven and one even transposed convolution."""

import flax.linen as nn

KERNEL = (3, 3)
STRIDES = (2, 2)


class Decoder(nn.Module):
    features: int = 64

    @nn.compact
    def __call__(self, x):
        x = nn.ConvTranspose(self.features, KERNEL, strides=STRIDES, padding="SAME")(x)
        x = nn.relu(x)
        x = nn.ConvTranspose(3, kernel_size=(4, 4), strides=(2, 2), padding="SAME")(x)
        return nn.tanh(x)
