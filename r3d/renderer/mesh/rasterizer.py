"""Settings and outputs of mesh rasterisation, with PyTorch3D's names and fields."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class RasterizationSettings:
    """Settings of mesh rasterisation (PyTorch3D's fields and defaults).

    Attributes:
        image_size: H = W as an int, or (H, W).
        blur_radius: squared NDC distance within which a pixel outside a face still records
            it; 0 for hard edges.
        faces_per_pixel: K, the nearest faces kept per pixel.
        bin_size: side of the native CPU kernel's screen bins in pixels; None: automatic,
            0: naive.
        max_faces_per_bin: accepted for compatibility; r3d's bins never drop faces.
        perspective_correct: correct barycentrics for perspective; None lets the rasteriser
            decide from the cameras (True for perspective cameras).
        clip_barycentric_coords: clip barycentrics of pixels outside a face; None means
            ``blur_radius > 0``.
        cull_backfaces: skip faces seen from behind.
        z_clip_value: near-plane depth faces are clipped at; None for no clipping.
        cull_to_frustum: skip faces entirely outside the view frustum.
    """

    image_size: int | tuple[int, int] = 256
    blur_radius: float = 0.0
    faces_per_pixel: int = 1
    bin_size: int | None = None
    max_faces_per_bin: int | None = None
    perspective_correct: bool | None = None
    clip_barycentric_coords: bool | None = None
    cull_backfaces: bool = False
    z_clip_value: float | None = None
    cull_to_frustum: bool = False
