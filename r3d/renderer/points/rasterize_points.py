"""Point-cloud rasterisation with PyTorch3D's ``rasterize_points`` signature and outputs.

On the CPU it runs the native binned kernel (coarse pass: points filed into screen bins by the
bounding boxes of their discs; fine pass: each pixel's K nearest points), on CUDA a native
per-pixel kernel, and elsewhere the pure-PyTorch twin :func:`rasterize_points_torch`, which is
also the test oracle. Gradients w.r.t. the point positions flow through zbuf and dists.
"""

from __future__ import annotations

import torch

from r3d._native import rasterize_points as bridge
from r3d._native import use_native
from r3d._native.core import leading_size
from r3d._native.library import in_float32, native_op
from r3d.renderer.points.rasterize_points_torch import (
    point_raster_inputs,
    rasterize_packed_points_torch,
    rasterize_points_torch,
)
from r3d.structures.pointclouds import Pointclouds

__all__ = ["rasterize_points", "rasterize_points_torch"]


def _fake_point_fragments(points, radius, first_idx, num_points, image_size, points_per_pixel,
                          bin_size):
    shape = (first_idx.shape[0], *image_size, points_per_pixel)
    return points.new_empty(shape, dtype=torch.int64), points.new_empty(shape), \
        points.new_empty(shape)


@native_op("rasterize_points", _fake_point_fragments)
def rasterize_points_op(
    points: torch.Tensor, radius: torch.Tensor, first_idx: torch.Tensor,
    num_points: torch.Tensor, image_size: list[int], points_per_pixel: int, bin_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native rasterisation of packed points (P, 3) with radii (P,): idx, zbuf, dists."""
    N = leading_size("rasterize_points", "cloud_to_packed_first_idx", first_idx)
    settings = (N, *image_size, points_per_pixel)
    return bridge.rasterize_points_forward(points, radius, first_idx, num_points, settings,
                                           bin_size)


@native_op("rasterize_points_backward", lambda points, *_: torch.empty_like(points))
def rasterize_points_backward_op(
    points: torch.Tensor, idx: torch.Tensor, grad_zbuf: torch.Tensor, grad_dists: torch.Tensor,
    image_size: list[int], points_per_pixel: int,
) -> torch.Tensor:
    """Native backward: the gradient w.r.t. the points (P, 3), summed per point."""
    settings = (leading_size("rasterize_points", "idx", idx), *image_size, points_per_pixel)
    return bridge.rasterize_points_backward(
        points, idx, grad_zbuf.contiguous(), grad_dists.contiguous(), settings
    )


def _setup_rasterize(ctx, inputs, output) -> None:
    ctx.save_for_backward(inputs[0], output[0])
    ctx.settings = inputs[4:6]


def _rasterize_backward(ctx, _grad_idx, grad_zbuf, grad_dists) -> tuple:
    points, idx = ctx.saved_tensors
    grad = rasterize_points_backward_op(points, idx, grad_zbuf, grad_dists, *ctx.settings)
    return (grad,) + (None,) * 6


rasterize_points_op.register_autograd(_rasterize_backward, setup_context=_setup_rasterize)


def rasterize_points(
    pointclouds: Pointclouds,
    image_size: int | tuple[int, int] = 256,
    radius: float | torch.Tensor = 0.01,
    points_per_pixel: int = 8,
    bin_size: int | None = None,
    max_points_per_bin: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterises a batch of point clouds already in NDC, one image per cloud, each point a
    disc of the given radius facing the camera.

    Args:
        pointclouds: N clouds; point x, y in NDC (+x left, +y up, the shorter image side
            spanning [-1, 1]) and z the view depth (+z into the screen). Points behind the
            camera (z < 0) are skipped.
        image_size: H = W as an int, or (H, W).
        radius: the discs' radius in NDC units: a float for every point, or per point a packed
            (P,) tensor (P the total number of points) or a padded (N, max P_i) one (or a list
            of that shape); finite and >= 0. No gradient flows to it.
        points_per_pixel: K, the nearest points kept per pixel.
        bin_size: side in pixels of the native kernels' screen bins; None picks it (CPU: from
            the image size and K; CUDA: 8, 16 or 32 from the image size and the points' screen
            size), 0 rasterises naively (one bin over the image). On CUDA a bin_size smaller
            than the image is rounded down to 8, 16 or 32. Results never depend on it.
        max_points_per_bin: an int >= 0 or None, accepted for PyTorch3D compatibility;
            r3d's bins grow to hold every point, so it never drops points and needs no limit.
    Returns:
        idx (N, H, W, K) int64 packed indices of the points whose disc holds the pixel centre
        (squared distance < radius^2), zbuf (N, H, W, K) their depth z and dists (N, H, W, K)
        the squared NDC distance in x, y from the pixel centre to the point, sorted by depth
        (ties by point index); slots past a pixel's hits hold -1. Pixel (0, 0) is the top-left
        one. zbuf and dists are differentiable w.r.t. the point positions.
    """
    inputs = point_raster_inputs(
        pointclouds, image_size, radius, points_per_pixel, bin_size, max_points_per_bin
    )
    if not use_native(inputs.points, "rasterize_points"):
        return rasterize_packed_points_torch(inputs)
    # bin_size 0 asks for naive rasterisation: one bin covering the image
    bins = 0 if bin_size is None else (bin_size or max(inputs.image_size))
    return in_float32(
        rasterize_points_op, inputs.points.contiguous(), inputs.radius,
        inputs.cloud_to_packed_first_idx, inputs.num_points_per_cloud, list(inputs.image_size),
        inputs.points_per_pixel, bins,
    )
