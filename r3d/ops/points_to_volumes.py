"""Adding point clouds to volumes: trilinear or nearest splatting of points' weights and
features into voxel grids, of tensors (``add_points_features_to_volume_densities_features``) or of
:class:`~r3d.structures.Pointclouds` into :class:`~r3d.structures.Volumes`
(``add_pointclouds_to_volumes``).

``add_points_features_to_volume_densities_features`` follows PyTorch3D's signature, conventions
and results (``pytorch3d.ops.points_to_volumes``), except that the inputs are never modified
in place and locations just below a grid's first voxel keep their trilinear weights (see
docs/differences-from-pytorch3d.md). On CPU and CUDA the native kernels run (one point per
element; the CPU forward splits the volumes' depth rows among threads, so it is deterministic,
the CUDA forward adds with atomics); elsewhere the pure-PyTorch
:func:`~r3d.ops.points_to_volumes_torch.points_to_volumes_torch`, which is also the test oracle.
"""

from __future__ import annotations

import torch

from r3d._checks import check_positive_float, describe
from r3d._native import points_to_volumes as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.ops.clouds import valid_points
from r3d.ops.points_to_volumes_torch import check_splat_inputs, points_to_volumes_torch
from r3d.structures import Pointclouds, Volumes

__all__ = ["add_points_features_to_volume_densities_features", "add_pointclouds_to_volumes"]

_OP = "add_points_features_to_volume_densities_features"


@native_op("points_to_volumes", lambda points_3d, points_features, volume_densities,
           volume_features, grid_sizes, mask, align_corners, trilinear: (
               torch.empty_like(volume_densities), torch.empty_like(volume_features)))
def points_to_volumes_op(
    points_3d: torch.Tensor, points_features: torch.Tensor, volume_densities: torch.Tensor,
    volume_features: torch.Tensor, grid_sizes: torch.Tensor, mask: torch.Tensor,
    align_corners: bool, trilinear: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native splatting (arguments as :func:`points_to_volumes_torch`): densities
    (N, 1, D, H, W) and features (N, C, D, H, W)."""
    return bridge.points_to_volumes_forward(
        points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
        align_corners, trilinear,
    )


def _fake_splat_grads(points_3d, points_features, grid_sizes, mask, grad_densities,
                      grad_features, align_corners, trilinear, need_points, need_features):
    return (torch.empty_like(points_3d) if need_points and trilinear
            else points_3d.new_empty((0,)),
            torch.empty_like(points_features) if need_features
            else points_features.new_empty((0,)))


@native_op("points_to_volumes_backward", _fake_splat_grads)
def points_to_volumes_backward_op(
    points_3d: torch.Tensor, points_features: torch.Tensor, grid_sizes: torch.Tensor,
    mask: torch.Tensor, grad_densities: torch.Tensor, grad_features: torch.Tensor,
    align_corners: bool, trilinear: bool, need_points: bool, need_features: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward w.r.t. the points: grad_points (N, P, 3) (trilinear only) and
    grad_points_features (N, P, C), each an empty (0,) tensor when not computed."""
    grad_points, grad_points_features = bridge.points_to_volumes_backward(
        points_3d, points_features, grid_sizes, mask, grad_densities.contiguous(),
        grad_features.contiguous(), align_corners, trilinear, need_points, need_features,
    )
    return (points_3d.new_empty((0,)) if grad_points is None else grad_points,
            points_features.new_empty((0,)) if grad_points_features is None
            else grad_points_features)


def _setup_splat(ctx, inputs, output) -> None:
    points_3d, points_features, _, _, grid_sizes, mask, align_corners, trilinear = inputs
    ctx.align_corners, ctx.trilinear = align_corners, trilinear
    ctx.save_for_backward(points_3d, points_features, grid_sizes, mask)


def _splat_backward(ctx, grad_densities, grad_features) -> tuple:
    points_3d, points_features, grid_sizes, mask = ctx.saved_tensors
    need_points = ctx.needs_input_grad[0] and ctx.trilinear
    need_features = ctx.needs_input_grad[1]
    grad_points, grad_points_features = points_to_volumes_backward_op(
        points_3d, points_features, grid_sizes, mask, grad_densities, grad_features,
        ctx.align_corners, ctx.trilinear, need_points, need_features,
    )
    return (grad_points if need_points else None,
            grad_points_features if need_features else None,
            grad_densities, grad_features, None, None, None, None)


points_to_volumes_op.register_autograd(_splat_backward, setup_context=_setup_splat)


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
    args = (points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
            bool(align_corners), splat)
    if _python or not use_native(points_3d, _OP):
        densities, features = points_to_volumes_torch(*args)
    else:
        densities, features = in_float32(
            points_to_volumes_op, *(a.contiguous() if isinstance(a, torch.Tensor) else a
                                    for a in args))
    if rescale_features:
        features = features / densities.clamp(min_weight if splat else 1.0)
    return features, densities


def _check_structures(pointclouds: object, initial_volumes: object) -> None:
    """InputError unless the clouds, with features, and the volumes, with one density channel
    and features of the clouds' width if any, form batches of one size."""
    op = "add_pointclouds_to_volumes"
    if not isinstance(pointclouds, Pointclouds):
        raise InputError(f"{op}: pointclouds must be a Pointclouds, got {describe(pointclouds)}")
    if not isinstance(initial_volumes, Volumes):
        raise InputError(f"{op}: initial_volumes must be a Volumes, got "
                         f"{describe(initial_volumes)}")
    if len(pointclouds) != len(initial_volumes):
        raise InputError(f"{op}: pointclouds and initial_volumes must have the same batch size, "
                         f"got {len(pointclouds)} clouds and {len(initial_volumes)} volumes")
    features = pointclouds.features_padded()
    if features is None:
        raise InputError(f"{op}: pointclouds must have features")
    densities, volume_features = initial_volumes.densities(), initial_volumes.features()
    if densities.shape[1] != 1:
        raise InputError(f"{op}: initial_volumes must have 1 density channel, got "
                         f"{densities.shape[1]}")
    if volume_features is not None and volume_features.shape[1] != features.shape[2]:
        raise InputError(f"{op}: initial_volumes' features must have the {features.shape[2]} "
                         f"channels of the pointclouds' features, got {volume_features.shape[1]}")


def add_pointclouds_to_volumes(
    pointclouds: Pointclouds,
    initial_volumes: Volumes,
    mode: str = "trilinear",
    min_weight: float = 1e-4,
    rescale_features: bool = True,
    _python: bool = False,
) -> Volumes:
    """Splats a batch of point clouds with features into a batch of volumes.

    Cloud n's points, taken from world coordinates to volume n's local coordinates, are splatted
    into volume n's own grid with :func:`add_points_features_to_volume_densities_features` (the
    volumes' grid sizes and ``align_corners``; the clouds' padding rows add nothing).

    Args:
        pointclouds: N clouds with C features per point.
        initial_volumes: N volumes (grid sizes may differ) with 1 density channel and C feature
            channels, or no features (zeros).
        mode: "trilinear" or "nearest".
        min_weight: with trilinear splatting and ``rescale_features``, the smallest density the
            features are divided by (> 0).
        rescale_features: features are the weighted mean of the initial features and those
            splatted (else their sum); densities are always summed.
        _python: use the pure-PyTorch implementation.
    Returns:
        A new Volumes with the initial volumes' grids and placement, densities (N, 1, D, H, W)
        and features (N, C, D, H, W) with the points added (the initial volumes are left as they
        are). Differentiable w.r.t. the clouds' features, the volumes' densities, features and
        placement and, for trilinear splatting, the clouds' points.

    Raises InputError for other types, batch sizes that differ, clouds without features,
    feature or density channels that do not fit, and as
    :func:`add_points_features_to_volume_densities_features` (mode, min_weight, dtypes,
    devices, non-finite points).
    """
    _check_structures(pointclouds, initial_volumes)
    points, features = pointclouds.points_padded(), pointclouds.features_padded()
    mask = valid_points(pointclouds.num_points_per_cloud(), points.shape[1])
    local = initial_volumes.world_to_local_coords(points).to(points.dtype)
    new_features, new_densities = add_points_features_to_volume_densities_features(
        local, features, initial_volumes.densities(), initial_volumes.features(), mode=mode,
        min_weight=min_weight, mask=mask, grid_sizes=initial_volumes.get_grid_sizes(),
        rescale_features=rescale_features, _python=_python,
        align_corners=initial_volumes.get_align_corners(),
    )
    return initial_volumes.update_padded(new_densities, new_features)
