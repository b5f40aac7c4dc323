"""Pure-PyTorch point-cloud rasterisation: the any-device fallback and the test oracle of the
native kernel, and the argument checks every implementation of rasterize_points shares.

Each point in front of the camera is paired with the pixels that the bounding box of its disc
may reach and the hits are kept, each pixel's K nearest by (depth, point index)
(``raster_geometry.select_nearest``, in chunks so that memory stays bounded). Selection runs
without gradients; the depth and distances of the selected pairs are then evaluated again,
differentiably, so autograd gives the gradient w.r.t. the points.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from r3d._checks import check_int, describe
from r3d.errors import InputError
from r3d.renderer.mesh.raster_geometry import (
    pixel_centres,
    pixel_range,
    segment_members,
    select_nearest,
    slot_values,
)
from r3d.renderer.mesh.rasterize_meshes import parse_image_size
from r3d.structures.pointclouds import Pointclouds
from r3d.value_checks import expect_finite

__all__ = ["PointRasterInputs", "point_raster_inputs", "rasterize_packed_points_torch",
           "rasterize_points_torch"]

_OP = "rasterize_points"


class PointRasterInputs(NamedTuple):
    """Validated inputs of one point rasterisation.

    Attributes:
        points: (P, 3) packed points, NDC x, y and view depth z, all finite.
        radius: (P,) each point's radius in NDC units (points' dtype and device, no gradient).
        cloud_to_packed_first_idx, num_points_per_cloud: (N,) int64: cloud n's points.
        image_size: (H, W).
        points_per_pixel: K.
    """

    points: torch.Tensor
    radius: torch.Tensor
    cloud_to_packed_first_idx: torch.Tensor
    num_points_per_cloud: torch.Tensor
    image_size: tuple[int, int]
    points_per_pixel: int


def _packed_radius(radius, pointclouds: Pointclouds, points: torch.Tensor) -> torch.Tensor:
    """(P,) per-point radii from a float, a packed (P,) or a padded (N, max P_i) tensor (or
    list), checked to be finite and >= 0."""
    P, N = points.shape[0], len(pointclouds)
    if isinstance(radius, (int, float)) and not isinstance(radius, bool):
        if not 0 <= radius < math.inf:
            raise InputError(f"{_OP}: radius must be finite and >= 0, got {radius!r}")
        return points.new_full((P,), float(radius))
    P_padded = pointclouds.points_padded().shape[1]
    shapes = f"a packed tensor of shape ({P},) or a padded one of shape ({N}, {P_padded})"
    if isinstance(radius, (list, tuple)):
        try:
            radius = torch.tensor(radius, dtype=points.dtype, device=points.device)
        except (TypeError, ValueError, RuntimeError):
            raise InputError(
                f"{_OP}: radius as a list must hold numbers, of {shapes}, got {radius!r}"
            ) from None
    if not isinstance(radius, torch.Tensor) or radius.dtype == torch.bool or radius.is_complex():
        raise InputError(
            f"{_OP}: radius must be a float or a real tensor of per-point radii, got "
            f"{describe(radius)}"
        )
    r = radius.detach().to(dtype=points.dtype, device=points.device)
    if r.dim() == 2 and tuple(r.shape) == (N, P_padded):
        r = r.reshape(-1)[pointclouds.padded_to_packed_idx()]
    elif tuple(r.shape) != (P,):
        raise InputError(f"{_OP}: radius must be a float, {shapes}, got {describe(radius)}")
    if r.numel() and not bool(((r >= 0) & (r < math.inf)).all()):
        raise InputError(
            f"{_OP}: radius must be finite and >= 0, got values in "
            f"[{float(r.min())}, {float(r.max())}]"
        )
    return r.contiguous()


def point_raster_inputs(
    pointclouds, image_size, radius, points_per_pixel, bin_size, max_points_per_bin
) -> PointRasterInputs:
    """Validates the arguments of rasterize_points (InputError naming the argument)."""
    size = parse_image_size(image_size, _OP)
    check_int(_OP, "points_per_pixel", points_per_pixel, 1)
    check_int(_OP, "bin_size", bin_size, 0, optional=True)
    check_int(_OP, "max_points_per_bin", max_points_per_bin, 0, optional=True)
    if not isinstance(pointclouds, Pointclouds):
        raise InputError(f"{_OP}: pointclouds must be a Pointclouds, got {describe(pointclouds)}")
    points = pointclouds.points_packed()
    expect_finite(_OP, "pointclouds' points", points)
    return PointRasterInputs(
        points,
        _packed_radius(radius, pointclouds, points),
        pointclouds.cloud_to_packed_first_idx().contiguous(),
        pointclouds.num_points_per_cloud().contiguous(),
        size,
        points_per_pixel,
    )


def _dist2(points: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """(M,) squared distance in x, y from points (M, 3) to pixel centres (M,) (the native
    ``point_hit``'s order of operations)."""
    dx, dy = points[:, 0] - px, points[:, 1] - py
    return dx * dx + dy * dy


def rasterize_packed_points_torch(
    inputs: PointRasterInputs,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterises packed points (pure PyTorch, any device).

    Args:
        inputs: the validated inputs (points (P, 3), radius (P,), clouds (N,)).
    Returns:
        idx (N, H, W, K) int64 packed point indices, zbuf (N, H, W, K) depth and dists
        (N, H, W, K) squared NDC distance in x, y, sorted by (depth, point index), -1 past each
        pixel's hits; zbuf and dists are differentiable w.r.t. the points.
    """
    points, radius = inputs.points, inputs.radius
    H, W = inputs.image_size
    K = inputs.points_per_pixel
    N = inputs.num_points_per_cloud.shape[0]
    xs = pixel_centres(W, min(H, W), points.dtype, points.device)
    ys = pixel_centres(H, min(H, W), points.dtype, points.device)
    with torch.no_grad():
        p = points.detach()
        index, cloud = segment_members(inputs.cloud_to_packed_first_idx,
                                       inputs.num_points_per_cloud)
        front = p[index, 2] >= 0
        index, cloud = index[front], cloud[front]
        v, r = p[index].double(), radius[index].double()
        x0, x1 = pixel_range(v[:, 0] - r, v[:, 0] + r, W, min(H, W))
        y0, y1 = pixel_range(v[:, 1] - r, v[:, 1] + r, H, min(H, W))

        def test(c, x, y):
            i = index[c]
            return p[i, 2], _dist2(p[i], xs[x], ys[y]) < radius[i] * radius[i]

        idx = select_nearest(index, cloud, (x0, x1, y0, y1), test, N, (H, W), K)
    slots = torch.nonzero(idx.view(-1) >= 0)[:, 0]
    pix = slots // K
    hit = points[idx.view(-1)[slots]]
    zbuf = slot_values(slots, hit[:, 2], idx.shape)
    dists = slot_values(slots, _dist2(hit, xs[pix % W], ys[(pix // W) % H]), idx.shape)
    return idx, zbuf, dists


def rasterize_points_torch(
    pointclouds: Pointclouds,
    image_size: int | tuple[int, int] = 256,
    radius: float | torch.Tensor = 0.01,
    points_per_pixel: int = 8,
    bin_size: int | None = None,
    max_points_per_bin: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`r3d.renderer.points.rasterize_points` (any device; same arguments
    and outputs; bin_size and max_points_per_bin are validated and otherwise ignored)."""
    return rasterize_packed_points_torch(point_raster_inputs(
        pointclouds, image_size, radius, points_per_pixel, bin_size, max_points_per_bin
    ))
