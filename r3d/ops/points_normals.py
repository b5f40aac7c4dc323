"""Normals and local coordinate frames of point clouds from the covariance of neighbourhoods.

Signatures, outputs and the sign disambiguation (Tombari, Salti, Di Stefano: "Unique
Signatures of Histograms for Local Surface Description", ECCV 2010) follow PyTorch3D.
"""

from __future__ import annotations

import torch

from r3d._checks import check_positive_int
from r3d.errors import InputError
from r3d.ops.clouds import check_points, valid_points
from r3d.ops.utils import get_point_covariances
from r3d.structures.pointclouds import Pointclouds


def clouds_to_padded(
    op: str, name: str, clouds: torch.Tensor | Pointclouds
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded points (N, P, D) and lengths (N,) int64 of a tensor or a Pointclouds, validated.

    A tensor must be a finite float (N, P, D) tensor whose clouds all have P points.
    """
    if isinstance(clouds, Pointclouds):
        points, lengths = clouds.points_padded(), clouds.num_points_per_cloud()
        return points, check_points(op, name, points, lengths)
    return clouds, check_points(op, name, clouds)


def _disambiguate(points: torch.Tensor, knns: torch.Tensor, vecs: torch.Tensor) -> torch.Tensor:
    """Flips each vector (N, P, 3) that fewer than half of its point's neighbours (N, P, K, 3)
    lie strictly on the positive side of."""
    ahead = ((knns - points[:, :, None]) * vecs[:, :, None]).sum(-1) > 0
    flip = ahead.sum(-1, keepdim=True) < 0.5 * knns.shape[2]
    return torch.where(flip, -vecs, vecs)


def estimate_pointcloud_local_coord_frames(
    pointclouds: torch.Tensor | Pointclouds,
    neighborhood_size: int = 50,
    disambiguate_directions: bool = True,
    *,
    use_symeig_workaround: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal directions of the neighbourhood of every point.

    The covariance of each point's ``neighborhood_size`` nearest neighbours (the point itself
    included, found with :func:`knn_points`) is eigen-decomposed; its eigenvectors, by
    increasing eigenvalue, are the normal and the directions of lowest and highest spread.

    Args:
        pointclouds: (N, P, 3) float tensor or a Pointclouds.
        neighborhood_size: neighbours per point; every non-empty cloud needs more points.
        disambiguate_directions: orient the normal and the last direction towards the side
            where most neighbours lie (as SHOT descriptors do); the middle direction is then
            normal x last, so (as in PyTorch3D) each frame has determinant -1.
        use_symeig_workaround: accepted for PyTorch3D compatibility; r3d always uses
            ``torch.linalg.eigh``, which is accurate and batched for 3x3 matrices.
    Returns:
        curvatures: (N, P, 3) eigenvalues in increasing order.
        local_coord_frames: (N, P, 3, 3); ``[..., :, 0]`` is the normal, the columns the
        principal directions. Rows of padded points (Pointclouds input) are zero.
    """
    op = "estimate_pointcloud_local_coord_frames"
    points, lengths = clouds_to_padded(op, "pointclouds", pointclouds)
    if points.shape[2] != 3:
        raise InputError(
            f"{op}: pointclouds must have 3 coordinates per point, got shape "
            f"{tuple(points.shape)}"
        )
    K = neighborhood_size
    check_positive_int(op, "neighborhood_size", K)
    nonempty = lengths[lengths > 0]
    if nonempty.numel() and int(nonempty.min()) <= K:
        raise InputError(
            f"{op}: neighborhood_size ({K}) must be smaller than the number of points of every "
            f"non-empty cloud, got a cloud of {int(nonempty.min())} points"
        )
    # Centre each cloud for numerical stability.
    mean = points.sum(1) / lengths.clamp(min=1)[:, None].to(points.dtype)
    centred = points - mean[:, None, :]
    cov, knns = get_point_covariances(centred, lengths, K)
    curvatures, frames = torch.linalg.eigh(cov)
    if disambiguate_directions:
        normal = _disambiguate(centred, knns, frames[..., 0])
        last = _disambiguate(centred, knns, frames[..., 2])
        frames = torch.stack((normal, torch.cross(normal, last, dim=2), last), dim=3)
    valid = valid_points(lengths, points.shape[1]).to(points.dtype)
    return curvatures * valid[..., None], frames * valid[..., None, None]


def estimate_pointcloud_normals(
    pointclouds: torch.Tensor | Pointclouds,
    neighborhood_size: int = 50,
    disambiguate_directions: bool = True,
    *,
    use_symeig_workaround: bool = True,
) -> torch.Tensor:
    """Unit normals of every point (N, P, 3): the first column of
    :func:`estimate_pointcloud_local_coord_frames` (see it for the arguments); zero rows for
    padded points."""
    return estimate_pointcloud_local_coord_frames(
        pointclouds,
        neighborhood_size,
        disambiguate_directions,
        use_symeig_workaround=use_symeig_workaround,
    )[1][..., 0]
