"""Bridge to the native kernels of splatting points into volumes: checks every tensor,
allocates the outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._checks import checked_grid_sizes
from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch


def _check_splat(
    op: str,
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    mask: torch.Tensor,
    grid_sizes: torch.Tensor,
    volumes: dict[str, torch.Tensor],
    align_corners: bool,
    trilinear: bool,
) -> tuple[tuple, torch.Tensor]:
    """Checks the tensors of a splatting call, ``volumes`` the densities' (N, 1, D, H, W) and
    the features' (N, C, D, H, W) tensors (or their gradients) by name; returns the launchers'
    shape tuple and the grid sizes as :func:`checked_grid_sizes` returns them."""
    check_float(op, "points_3d", points_3d, (None, None, 3))
    N, P, _ = points_3d.shape
    device, dtype = points_3d.device, points_3d.dtype
    check(op, "points_features", points_features, dtype, (N, P, None), device)
    C = points_features.shape[2]
    check(op, "mask", mask, torch.bool, (N, P), device)
    check(op, "grid_sizes", grid_sizes, torch.int64, (N, 3), device)
    (densities_name, densities), (features_name, features) = volumes.items()
    check(op, densities_name, densities, dtype, (N, 1, None, None, None), device)
    dims = tuple(densities.shape[2:])
    check(op, features_name, features, dtype, (N, C, *dims), device)
    grid_sizes = checked_grid_sizes(op, grid_sizes, dims, N, device)
    return (N, P, C, *dims, bool(align_corners), bool(trilinear)), grid_sizes


def points_to_volumes_forward(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor,
    grid_sizes: torch.Tensor,
    mask: torch.Tensor,
    align_corners: bool,
    trilinear: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native splatting of points into copies of the volumes.

    Args:
        points_3d: (N, P, 3) float32/float64 in the volumes' local coordinates, contiguous.
        points_features: (N, P, C) of points_3d's dtype and device, contiguous.
        volume_densities: (N, 1, D, H, W), volume_features: (N, C, D, H, W), contiguous.
        grid_sizes: (N, 3) int64 grid (D, H, W) of each item, within (D, H, W).
        mask: (N, P) bool, the points splatted.
        align_corners, trilinear: the location convention and the splatting (else nearest).
    Returns:
        densities (N, 1, D, H, W) and features (N, C, D, H, W): the volumes plus the splats.
    """
    volumes = {"volume_densities": volume_densities, "volume_features": volume_features}
    shape, grid_sizes = _check_splat("points_to_volumes", points_3d, points_features, mask,
                                     grid_sizes, volumes, align_corners, trilinear)
    device = points_3d.device
    densities = volume_densities.clone()
    features = volume_features.clone()
    if points_3d.numel() and densities.numel():
        launch(
            "points_to_volumes_forward", device, DTYPE_NAMES[points_3d.dtype], addr(points_3d),
            addr(points_features), addr(mask), addr(grid_sizes), shape, addr(densities),
            addr(features),
        )
    return densities, features


def points_to_volumes_backward(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    grid_sizes: torch.Tensor,
    mask: torch.Tensor,
    grad_densities: torch.Tensor,
    grad_features: torch.Tensor,
    align_corners: bool,
    trilinear: bool,
    need_points: bool,
    need_features: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Native backward of :func:`points_to_volumes_forward` w.r.t. the points.

    Args:
        points_3d, points_features, grid_sizes, mask, align_corners, trilinear: as in the
            forward.
        grad_densities: (N, 1, D, H, W), grad_features: (N, C, D, H, W), contiguous.
        need_points: compute the gradient w.r.t. points_3d (trilinear only).
        need_features: compute the gradient w.r.t. points_features.
    Returns:
        grad_points (N, P, 3) and grad_points_features (N, P, C), None where not asked for.
    """
    volumes = {"grad_densities": grad_densities, "grad_features": grad_features}
    shape, grid_sizes = _check_splat("points_to_volumes backward", points_3d, points_features,
                                     mask, grid_sizes, volumes, align_corners, trilinear)
    device = points_3d.device
    need_points = need_points and trilinear
    grad_points = torch.zeros_like(points_3d) if need_points else None
    grad_points_features = torch.zeros_like(points_features) if need_features else None
    if points_3d.numel() and grad_densities.numel() and (need_points or need_features):
        launch(
            "points_to_volumes_backward", device, DTYPE_NAMES[points_3d.dtype], addr(points_3d),
            addr(points_features), addr(mask), addr(grid_sizes), shape, addr(grad_densities),
            addr(grad_features), 0 if grad_points is None else addr(grad_points),
            0 if grad_points_features is None else addr(grad_points_features),
        )
    return grad_points, grad_points_features
