"""What the rasterisers return per pixel: the K nearest faces (:class:`Fragments`) or points
(:class:`PointFragments`) of each pixel, with PyTorch3D's names and fields. Shaders, textures and
compositors read them."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Fragments(NamedTuple):
    """What the rasteriser returns for N images of H x W pixels, K faces per pixel.

    Attributes:
        pix_to_face: (N, H, W, K) int64 packed face indices, nearest first; -1 where empty.
        zbuf: (N, H, W, K) view-space depth of each fragment; -1 where empty.
        bary_coords: (N, H, W, K, 3) barycentric coordinates in the face; -1 where empty.
        dists: (N, H, W, K) signed squared NDC distance from the pixel centre to the face
            (negative inside); -1 where empty.
    """

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: torch.Tensor | None

    def detach(self) -> Fragments:
        """The same fragments cut from the autograd graph."""
        return Fragments(*(None if t is None else t.detach() for t in self))


class PointFragments(NamedTuple):
    """What the point rasteriser returns for N images of H x W pixels, K points per pixel.

    Attributes:
        idx: (N, H, W, K) int64 packed point indices, nearest first; -1 where empty.
        zbuf: (N, H, W, K) view-space depth of each point; -1 where empty.
        dists: (N, H, W, K) squared NDC distance in x, y from the pixel centre to the point;
            -1 where empty.
    """

    idx: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor
