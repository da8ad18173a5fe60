"""pix2pixHD global generator (Wang et al.), upsampling part: four k3 s2 p1 op1 layers."""

import torch.nn as nn

NGF = 64


def upsampler(ngf=NGF):
    return nn.Sequential(
        nn.ConvTranspose2d(ngf * 16, ngf * 8, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ReflectionPad2d(3),
        nn.Conv2d(ngf, 3, kernel_size=7, padding=0),
        nn.Tanh(),
    )
