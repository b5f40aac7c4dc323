"""Pure-PyTorch splatting of points into volumes: the twin of the native kernels of
:mod:`r3d.ops.points_to_volumes` (any device; the test oracle) and the input checks both share.

A point's location in a volume of grid size G along an axis (x along W, y along H, z along D) is
``((p + 1) * 0.5) * (G - 1)`` with ``align_corners`` (p = -1 and 1 are the centres of the first
and last voxels) and ``((p + 1) * 0.5) * G - 0.5`` without (they are the outer faces of those
voxels). Trilinear splatting adds the weight ``prod_a (1 - |loc_a - corner_a|)`` of each of the
8 voxels around the location to their densities and weight * features to their features;
nearest splatting adds weight 1 to the voxel at the location rounded half away from zero.
Voxels outside the item's grid get nothing; masked points add nothing.
"""

from __future__ import annotations

import torch

from r3d._checks import check_same_device, checked_grid_sizes, describe
from r3d.errors import InputError
from r3d.value_checks import expect_finite

MODES = ("trilinear", "nearest")

def _check_tensor(op: str, name: str, t: object, shape: str, dim: int) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != dim:
        raise InputError(f"{op}: {name} must be a float tensor of shape {shape}, got "
                         f"{describe(t)}")
    return t


def check_splat_inputs(
    op: str,
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor | None,
    mode: str,
    mask: torch.Tensor | None,
    grid_sizes: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checks a splatting call (InputError naming the argument); returns volume_features (zeros
    when None), mask as (N, P) bool (nonzero: the point is splatted) and the checked (N, 3)
    int64 grid sizes."""
    if mode not in MODES:
        raise InputError(f"{op}: mode must be one of {MODES}, got {mode!r}")
    _check_tensor(op, "points_3d", points_3d, "(N, P, 3)", 3)
    if points_3d.shape[2] != 3:
        raise InputError(f"{op}: points_3d must have shape (N, P, 3), got "
                         f"{tuple(points_3d.shape)}")
    N, P, _ = points_3d.shape
    _check_tensor(op, "points_features", points_features, "(N, P, C)", 3)
    if points_features.shape[:2] != (N, P):
        raise InputError(f"{op}: points_features must have shape ({N}, {P}, C) like points_3d, "
                         f"got {tuple(points_features.shape)}")
    C = points_features.shape[2]
    _check_tensor(op, "volume_densities", volume_densities, "(N, 1, D, H, W)", 5)
    if volume_densities.shape[:2] != (N, 1):
        raise InputError(f"{op}: volume_densities must have shape ({N}, 1, D, H, W), got "
                         f"{tuple(volume_densities.shape)}")
    dims = tuple(volume_densities.shape[2:])
    if volume_features is None:
        volume_features = volume_densities.new_zeros((N, C, *dims))
    _check_tensor(op, "volume_features", volume_features, "(N, C, D, H, W)", 5)
    if volume_features.shape != (N, C, *dims):
        raise InputError(f"{op}: volume_features must have shape {(N, C, *dims)} (points' "
                         f"features, volume_densities' grid), got "
                         f"{tuple(volume_features.shape)}")
    tensors = {"points_3d": points_3d, "points_features": points_features,
               "volume_densities": volume_densities, "volume_features": volume_features}
    dtypes = {t.dtype for t in tensors.values()}
    if len(dtypes) > 1:
        listing = ", ".join(f"{n} {t.dtype}" for n, t in tensors.items())
        raise InputError(f"{op}: the float inputs must have one dtype, got {listing}")
    device = check_same_device(op, **tensors)
    if mask is None:
        mask = torch.ones((N, P), dtype=torch.bool, device=device)
    elif not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (N, P):
        raise InputError(f"{op}: mask must be a tensor of shape ({N}, {P}), got {describe(mask)}")
    else:
        check_same_device(op, points_3d=points_3d, mask=mask)
        mask = mask != 0
    grid_sizes = checked_grid_sizes(op, grid_sizes, dims, N, device)
    expect_finite(op, "points_3d", points_3d)
    return volume_features, mask, grid_sizes


def voxel_locations(
    points_3d: torch.Tensor, grid_sizes: torch.Tensor, align_corners: bool
) -> torch.Tensor:
    """(N, P, 3) locations (x, y, z) of the points in voxel units of their item's grid."""
    sizes = grid_sizes.flip(-1)[:, None].to(points_3d.dtype)  # (N, 1, 3): W, H, D
    half = (points_3d + 1) * 0.5
    return half * (sizes - 1) if align_corners else half * sizes - 0.5


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    """x rounded to the nearest integer, halves away from zero (as C's round), exactly."""
    whole = torch.trunc(x)
    return whole + torch.where((x - whole).abs() >= 0.5, torch.sign(x), 0)


def _corners(
    loc: torch.Tensor, sizes: torch.Tensor, splat: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The voxels a point adds to: (N, P, K, 3) int64 indices (x, y, z), (N, P, K) weights and
    (N, P, K) bool, whether each lies in its item's grid (K = 8 trilinear, 1 nearest)."""
    # far points moved to just outside the grid (their corners stay outside) so that the
    # indices fit int64; NaN locations are checked before
    high = (sizes[:, None] + 1).to(loc.dtype)  # (N, 1, 3)
    if not splat:
        idx = torch.minimum(_round_half_away(loc.detach()).clamp(min=-2), high).long()
        idx, weights = idx[:, :, None], loc.new_ones(loc.shape[:2] + (1,))
    else:
        loc = torch.minimum(loc.clamp(min=-2), high)
        base = torch.floor(loc.detach())
        frac = (loc - base)[:, :, None]  # (N, P, 1, 3)
        # (8, 3) offsets (x, y, z) of the corners from the floor, x fastest
        up = (torch.arange(8, device=loc.device)[:, None] >> torch.arange(3, device=loc.device)) & 1
        idx = base.long()[:, :, None] + up
        axis = torch.where(up.bool(), frac, 1 - frac)
        weights = axis[..., 0] * axis[..., 1] * axis[..., 2]
    inside = ((idx >= 0) & (idx < sizes[:, None, None])).all(-1)
    return idx, weights, inside


def points_to_volumes_torch(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor,
    grid_sizes: torch.Tensor,
    mask: torch.Tensor,
    align_corners: bool,
    splat: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch splatting (inputs as :func:`check_splat_inputs` returns them).

    Args:
        points_3d: (N, P, 3) points in the volumes' local coordinates ([-1, 1] inside).
        points_features: (N, P, C).
        volume_densities: (N, 1, D, H, W); volume_features: (N, C, D, H, W).
        grid_sizes: (N, 3) int64 grid size (D, H, W) of each item, within (D, H, W): voxel
            (z, y, x) of item n is volume[n, :, z, y, x].
        mask: (N, P) bool, the points splatted.
        align_corners: the convention of the locations (module docstring).
        splat: trilinear splatting (else nearest).
    Returns:
        densities (N, 1, D, H, W) and features (N, C, D, H, W): the volumes plus the points'
        weights and weighted features. Differentiable w.r.t. points_features, the volumes and,
        when splat, points_3d.
    """
    N, P, C = points_features.shape
    _, _, D, H, W = volume_densities.shape
    loc = voxel_locations(points_3d, grid_sizes, align_corners)
    idx, weights, inside = _corners(loc, grid_sizes.flip(-1), splat)
    keep = inside & mask[:, :, None]
    K = idx.shape[2]
    flat = torch.where(keep, (idx[..., 2] * H + idx[..., 1]) * W + idx[..., 0], 0)
    weights = torch.where(keep, weights, 0).reshape(N, P * K)
    flat = flat.reshape(N, P * K)
    densities = volume_densities.reshape(N, D * H * W).scatter_add(1, flat, weights)
    # where, not a product with the zero weight: a dropped point's NaN or inf features add nothing
    added = torch.where(keep[..., None], weights.reshape(N, P, K, 1) * points_features[:, :, None],
                        0).reshape(N, P * K, C)
    features = volume_features.reshape(N, C, D * H * W).scatter_add(
        2, flat[:, None].expand(N, C, P * K), added.transpose(1, 2)
    )
    return densities.reshape(N, 1, D, H, W), features.reshape(N, C, D, H, W)
