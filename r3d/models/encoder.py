"""A small ResNet-style image encoder (plain ``torch.nn``; no torchvision needed)."""

from __future__ import annotations

import torch
from torch import nn

from r3d._checks import describe
from r3d.errors import InputError

__all__ = ["ImageEncoder", "ResidualBlock"]


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection (a 1x1 projection when the
    stride or the width changes): (N, C_in, H, W) -> (N, C_out, H / stride, W / stride)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.skip = (nn.Identity() if stride == 1 and c_in == c_out else
                     nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                   nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ImageEncoder(nn.Module):
    """Images to feature maps at several scales and a global feature vector.

    A 3x3 stem, then one stage per entry of ``widths``, each a strided residual block (the
    first keeps the stem's resolution) and ``blocks_per_stage - 1`` more.

    Args:
        in_channels: channels of the images (3: RGB, 4: RGBA).
        widths: channels of each stage's output.
        blocks_per_stage: residual blocks per stage.

    ``forward(images)`` takes (N, in_channels, H, W) and returns ``(maps, global)``: the list of
    stage outputs, map s of shape (N, widths[s], H / 2^s, W / 2^s), and the (N, widths[-1])
    average of the last map. ``feature_dims`` lists the maps' channels.
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (32, 64, 128, 256),
                 blocks_per_stage: int = 2) -> None:
        super().__init__()
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise InputError(f"ImageEncoder: widths must be positive ints, got {widths!r}")
        self.in_channels = in_channels
        self.feature_dims = tuple(widths)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, c = [], widths[0]
        for s, width in enumerate(widths):
            blocks = [ResidualBlock(c, width, stride=1 if s == 0 else 2)]
            blocks += [ResidualBlock(width, width) for _ in range(blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            c = width
        self.stages = nn.ModuleList(stages)

    def forward(self, images: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        if (not isinstance(images, torch.Tensor) or images.dim() != 4
                or images.shape[1] != self.in_channels):
            raise InputError(f"ImageEncoder: images must have shape (N, {self.in_channels}, H, "
                             f"W), got {describe(images)}")
        x = self.stem(images)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps, x.mean(dim=(2, 3))
