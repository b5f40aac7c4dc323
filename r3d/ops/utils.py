"""Small helpers of PyTorch3D's ``pytorch3d.ops.utils``: weighted means, batches of identity
matrices, point clouds as padded tensors, and the covariance of each point's neighbourhood."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d._checks import check_positive_int, describe
from r3d.errors import InputError
from r3d.ops.knn import knn_points
from r3d.structures.pointclouds import Pointclouds

__all__ = [
    "convert_pointclouds_to_tensor",
    "eyes",
    "get_point_covariances",
    "is_pointclouds",
    "wmean",
]


def wmean(
    x: torch.Tensor,
    weight: torch.Tensor | None = None,
    dim: int | Sequence[int] = -2,
    keepdim: bool = True,
    eps: float = 1e-9,
) -> torch.Tensor:
    """Mean of x over ``dim``, weighted when ``weight`` is given.

    The last dimension of x holds coordinates (D): one weight applies to all D of them.

    Args:
        x: (*, D) tensor.
        weight: optional non-negative (*,) tensor, broadcastable to x.shape[:-1].
        dim: the dimension or dimensions of x to average over.
        keepdim: keep the averaged dimensions with size 1.
        eps: the total weight is clamped to at least eps before dividing by it.
    Returns:
        ``x.mean(dim)``, or ``sum(x * w, dim) / max(sum(w, dim), eps)`` with weights; x's shape
        with the averaged dimensions removed (or 1 with keepdim).
    """
    dims = dim if isinstance(dim, int) else tuple(dim)
    if weight is None:
        return x.mean(dim=dims, keepdim=keepdim)
    if any(a != b and 1 not in (a, b) for a, b in zip(x.shape[-2::-1], weight.shape[::-1])):
        raise InputError(
            f"wmean: weight of shape {tuple(weight.shape)} does not broadcast to x's shape "
            f"{tuple(x.shape)} without its last dimension"
        )
    w = weight[..., None]
    return (x * w).sum(dim=dims, keepdim=keepdim) / w.sum(dim=dims, keepdim=keepdim).clamp(eps)


def eyes(
    dim: int,
    N: int,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A batch of identity matrices.

    Args:
        dim: the size of each matrix; N: how many (>= 0).
        device, dtype: of the result.
    Returns:
        (N, dim, dim) tensor (its own memory, so it may be written to).
    """
    return torch.eye(dim, device=device, dtype=dtype).repeat(N, 1, 1)


def is_pointclouds(pcl: object) -> bool:
    """Whether pcl is a point-cloud batch: it has ``points_padded`` and
    ``num_points_per_cloud`` (a :class:`~r3d.structures.Pointclouds`, or any object that quacks
    like one), rather than a tensor."""
    return hasattr(pcl, "points_padded") and hasattr(pcl, "num_points_per_cloud")


def convert_pointclouds_to_tensor(
    pcl: torch.Tensor | Pointclouds,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded points and the number of points of each cloud.

    Args:
        pcl: a Pointclouds of N clouds, or an (N, P, D) tensor of N clouds of P points each.
    Returns:
        points: (N, P, D), the Pointclouds' padded points or the tensor itself.
        num_points: (N,) int64 on the points' device (all P for a tensor).
    """
    if is_pointclouds(pcl):
        return pcl.points_padded(), pcl.num_points_per_cloud()
    if not isinstance(pcl, torch.Tensor) or pcl.dim() < 2:
        raise InputError(
            "convert_pointclouds_to_tensor: pcl must be a Pointclouds or a tensor of shape "
            f"(N, P, D), got {describe(pcl)}"
        )
    lengths = torch.full((pcl.shape[0],), pcl.shape[1], dtype=torch.int64, device=pcl.device)
    return pcl, lengths


def get_point_covariances(
    points_padded: torch.Tensor,
    num_points_per_cloud: torch.Tensor,
    neighborhood_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Covariance of the K nearest neighbours of every point (the point itself among them).

    The neighbours come from :func:`knn_points` within each cloud's first
    ``num_points_per_cloud[n]`` points; the covariance is their mean outer product about their
    mean (divided by K, not K - 1).

    Args:
        points_padded: (N, P, D) float tensor.
        num_points_per_cloud: (N,) int64 sizes of the clouds.
        neighborhood_size: K >= 1. A point of a cloud with fewer than K points has zero rows for
            the missing neighbours, which enter its covariance as points at the origin.
    Returns:
        covariances: (N, P, D, D).
        k_nearest_neighbors: (N, P, K, D), nearest first.
    """
    check_positive_int("get_point_covariances", "neighborhood_size", neighborhood_size)
    knn = knn_points(
        points_padded,
        points_padded,
        lengths1=num_points_per_cloud,
        lengths2=num_points_per_cloud,
        K=neighborhood_size,
        return_nn=True,
    ).knn
    spread = knn - knn.mean(2, keepdim=True)
    return (spread[..., :, None] * spread[..., None, :]).mean(2), knn
