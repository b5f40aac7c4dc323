"""Blending by splatting (Cole et al., "Differentiable Surface Rendering via Non-Differentiable
Sampling", ICCV 2021): PyTorch3D's ``SplatterBlender``.

The rasteriser is not differentiable in where faces land, so instead every fragment is splatted
onto the 3 x 3 pixels around its own with a Gaussian kernel centred at the fragment's position
on screen. That position is computed from the fragment's (barycentric-interpolated) 3D point, so
in the forward pass it is exactly the pixel centre, while in the backward pass the gradients of
the kernel weights reach the vertices.

For each pixel q and each of the 9 pixels p around it (q itself included), the K fragments of p
are sorted into three depth buckets relative to q's front surface: the fragment of p nearest in
depth to q's first fragment is on q's surface, those before it in front, those after it behind
(unless p's first fragment is nearer to one of q's later fragments: then all of p lies behind).
Each bucket's splats are summed and normalised by their total weight (when above 1); the buckets
are then composited over the background, behind first, front last.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.blending import BlendParams

__all__ = ["SplatterBlender"]

# (x, y) pixel offsets from a splatted pixel q to the pixel p that splats onto it (p = q + o).
_OFFSETS = tuple(itertools.product((-1, 0, 1), repeat=2))
# The kernel's total weight over the 3 x 3 pixels is 1 + this, so that (as in the paper, sec.
# 3.3.1) normalising by the weights of interior pixels still passes gradients.
_NORMALISATION_SLACK = 0.05


def _kernel_scale(sigma: float) -> float:
    """(1 + slack) / sum of the Gaussian kernel of std sigma over the 9 offsets."""
    return (1 + _NORMALISATION_SLACK) / sum(
        math.exp(-(ox * ox + oy * oy) / (2 * sigma**2)) for ox, oy in _OFFSETS
    )


def _shifted(t: torch.Tensor, ox: int, oy: int) -> torch.Tensor:
    """t (N, H, W, ...) read at (h + oy, w + ox): zero where that leaves the image."""
    H, W = t.shape[1:3]
    padded = F.pad(t, (0, 0) * (t.dim() - 3) + (1, 1, 1, 1))
    return padded[:, 1 + oy : 1 + oy + H, 1 + ox : 1 + ox + W]


def _surface_layer(depth: torch.Tensor, neighbour: torch.Tensor) -> torch.Tensor:
    """(N, H, W) index of the neighbour's layer on the pixel's front surface.

    Args:
        depth: (N, H, W, K) depths of the pixel's fragments, neighbour: its neighbour's.
    Returns:
        k >= 0: the neighbour's fragment k is the one nearest in depth to the pixel's first;
        -k <= 0: the neighbour's first fragment is nearer to the pixel's fragment k than any
        neighbour fragment is to the pixel's first (the neighbour lies behind the surface).
    """
    to_front, nearest = (neighbour - depth[..., :1]).abs().min(-1)
    from_front, behind = (neighbour[..., :1] - depth).abs().min(-1)
    return torch.where(from_front < to_front, -behind, nearest)


class SplatterBlender(torch.nn.Module):
    """Blends the K fragments of each pixel by splatting (see the module docstring).

    Args:
        input_shape: (N, H, W, K) of the fragments it was made for (PyTorch3D precomputes
            index tensors from it; r3d needs none and blends fragments of any shape).
        device: accepted for compatibility; the inputs' device is used.
    """

    def __init__(self, input_shape: tuple[int, int, int, int], device=None) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)

    def forward(
        self,
        colors: torch.Tensor,
        pixel_coords_cameras: torch.Tensor,
        cameras,
        background_mask: torch.Tensor,
        blend_params: BlendParams,
    ) -> torch.Tensor:
        """RGBA images splatted from the fragments.

        Args:
            colors: (N, H, W, K, 3) shaded colours of the fragments.
            pixel_coords_cameras: (N, H, W, K, 3) world points of the fragments, interpolated
                with the barycentrics from the vertices (so gradients reach the vertices).
            cameras: the cameras that rasterised them (projected with
                ``transform_points_screen``).
            background_mask: (N, H, W, K) bool, True where a fragment slot is empty.
            blend_params: sigma (the kernel's standard deviation in pixels, > 0; 0.5 is the
                intended value) and background_color (3 values).
        Returns:
            (N, H, W, 4): RGB and alpha, alpha 0 on the background far from any fragment.
        """
        op = "SplatterBlender"
        if not isinstance(colors, torch.Tensor) or colors.dim() != 5 or colors.shape[-1] != 3:
            raise InputError(f"{op}: colors must have shape (N, H, W, K, 3), got "
                             f"{describe(colors)}")
        shape = colors.shape[:4]
        if not isinstance(pixel_coords_cameras, torch.Tensor) \
                or pixel_coords_cameras.shape != colors.shape:
            raise InputError(f"{op}: pixel_coords_cameras must have shape "
                             f"{tuple(colors.shape)} like colors, got "
                             f"{describe(pixel_coords_cameras)}")
        if not isinstance(background_mask, torch.Tensor) or background_mask.shape != shape:
            raise InputError(f"{op}: background_mask must have shape {tuple(shape)}, got "
                             f"{describe(background_mask)}")
        sigma = float(blend_params.sigma)
        if not sigma > 0:
            raise InputError(f"{op}: blend_params.sigma must be positive, got {sigma}")
        background = torch.as_tensor(blend_params.background_color, dtype=colors.dtype,
                                     device=colors.device)
        if background.shape != (3,):
            raise InputError(f"{op}: blend_params.background_color must have 3 values, got "
                             f"{describe(blend_params.background_color)}")
        N, H, W, K = shape
        empty = background_mask.to(torch.bool)
        # empty slots hold no point: project a detached one and mask it, so no NaN gradient
        points = torch.where(empty[..., None], pixel_coords_cameras.detach(), pixel_coords_cameras)
        screen = cameras.transform_points_screen(
            points.reshape(N, -1, 3), image_size=(H, W)
        ).reshape(N, H, W, K, 3)
        depth = torch.where(empty, 1.0, screen[..., 2])
        ys, xs = torch.meshgrid(torch.arange(H, device=colors.device),
                                torch.arange(W, device=colors.device), indexing="ij")
        centres = torch.stack([xs, ys], -1).to(screen.dtype) + 0.5  # (H, W, 2) as (x, y)
        # where each fragment sits relative to its pixel's centre: 0 in the forward pass
        shift = torch.where(empty[..., None], 0.0, screen[..., :2] - centres[:, :, None])
        alpha = (~empty).to(colors.dtype)
        rgba = torch.cat([colors, torch.ones_like(colors[..., :1])], -1) * alpha[..., None]
        scale = _kernel_scale(sigma)
        layers = torch.arange(K, device=colors.device)
        totals = colors.new_zeros(N, H, W, 3, 5)  # buckets: front, surface, behind
        for ox, oy in _OFFSETS:
            surface = _surface_layer(depth, _shifted(depth, ox, oy))[..., None]  # (N, H, W, 1)
            offset = shift.new_tensor([ox, oy])
            dist2 = ((_shifted(shift, ox, oy) + offset) ** 2).sum(-1)
            weight = _shifted(alpha, ox, oy) * scale * torch.exp(-dist2 / (2 * sigma**2))
            splat = torch.cat([weight[..., None] * _shifted(rgba, ox, oy), weight[..., None]], -1)
            buckets = torch.stack(
                [layers < surface, layers == surface, layers > surface], -1
            ).to(splat.dtype)  # (N, H, W, K, 3)
            totals = totals + torch.einsum("nhwkb,nhwkc->nhwbc", buckets, splat)
        normalised = totals[..., :4] / totals[..., 4:].clamp(min=1.0)
        image = torch.cat([background, background.new_zeros(1)]).expand(N, H, W, 4)
        for bucket in (2, 1, 0):  # behind, surface, front: each over what lies behind it
            layer = normalised[..., bucket, :]
            image = layer + (1 - layer[..., 3:]) * image
        return image
