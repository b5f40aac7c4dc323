"""Adding point clouds to volumes: trilinear or nearest splatting of points' weights and
features into voxel grids.

``add_points_features_to_volume_densities_features`` follows PyTorch3D's signature, conventions
and results (``pytorch3d.ops.points_to_volumes``). The splatting runs the pure-PyTorch
:func:`~r3d.ops.points_to_volumes_torch.points_to_volumes_torch`, which is also the test oracle.
"""

from __future__ import annotations

import torch

from r3d._checks import check_positive_float
from r3d.ops.points_to_volumes_torch import check_splat_inputs, points_to_volumes_torch

__all__ = ["add_points_features_to_volume_densities_features"]

_OP = "add_points_features_to_volume_densities_features"


def add_points_features_to_volume_densities_features(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor | None,
    mode: str = "trilinear",
    min_weight: float = 1e-4,
    mask: torch.Tensor | None = None,
    grid_sizes: torch.Tensor | None = None,
    rescale_features: bool = True,
    _python: bool = False,
    align_corners: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Splats batches of points with features into batches of volumes.

    Each point adds its weight to the densities and its weight times its features to the
    features of the voxels around it: with ``mode="trilinear"`` the 8 voxels around its location
    with trilinear weights (summing to 1 inside the grid), with ``mode="nearest"`` the voxel
    nearest to it with weight 1. Voxels outside an item's grid receive nothing, so points
    outside it add nothing.

    Args:
        points_3d: (N, P, 3) points in the volumes' local coordinates (x, y, z in [-1, 1] span
            the grid along W, H, D).
        points_features: (N, P, C) features of the points.
        volume_densities: (N, 1, D, H, W) densities the points are added to.
        volume_features: (N, C, D, H, W) features they are added to; None for zeros.
        mode: "trilinear" or "nearest".
        min_weight: with trilinear splatting and ``rescale_features``, the smallest density the
            features are divided by (> 0).
        mask: (N, P) tensor, nonzero for the points to splat (padded points zero); None: all.
        grid_sizes: (N, 3) int64 grid size (D, H, W) of each item, at most the volumes' (D, H,
            W): item n's voxel (z, y, x) is volume[n, :, z, y, x]; None: the whole volume.
        rescale_features: divide the features by the densities (clamped to at least min_weight
            for trilinear, 1 for nearest), giving the weighted mean of the features added (and
            the initial features); else return the sums.
        _python: use the pure-PyTorch implementation (as on devices without native kernels).
        align_corners: the centres (True) or the outer faces (False) of the first and last voxels
            are at -1 and 1 (as ``grid_sample``'s align_corners).
    Returns:
        features (N, C, D, H, W) and densities (N, 1, D, H, W), new tensors (the inputs are left
        as they are). Differentiable w.r.t. points_features, the volumes and, for trilinear
        splatting, points_3d.

    Raises InputError naming the argument for bad shapes, dtypes, devices, modes, grid sizes
    outside the volumes, a min_weight <= 0 and non-finite points.
    """
    volume_features, mask, grid_sizes = check_splat_inputs(
        _OP, points_3d, points_features, volume_densities, volume_features, mode, mask,
        grid_sizes,
    )
    splat = mode == "trilinear"
    if splat and rescale_features:
        min_weight = check_positive_float(_OP, "min_weight", min_weight)
    densities, features = points_to_volumes_torch(
        points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
        bool(align_corners), splat,
    )
    if rescale_features:
        features = features / densities.clamp(min_weight if splat else 1.0)
    return features, densities
