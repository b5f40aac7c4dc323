"""Ball query: the first K points of a cloud within a radius of each query point.

``ball_query`` follows PyTorch3D's signature and outputs: neighbours are the first K points of
p2, in index order, whose squared distance to the query is strictly below radius**2. It is pure
PyTorch, chunked over queries so that memory stays bounded, and runs on any device.
"""

from __future__ import annotations

import math

import torch

from r3d._checks import check_positive_int
from r3d.errors import InputError
from r3d.ops.clouds import CHUNK_ELEMENTS, check_clouds
from r3d.ops.knn import KNN, knn_gather, pair_distances


def masked_gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``points`` that ``idx`` names, with zeros where idx is -1.

    Args:
        points: (N, P, D) tensor.
        idx: (N, L, K) int64 indices in [0, P) or -1.
    Returns:
        (N, L, K, D) tensor, differentiable w.r.t. points.
    """
    found = idx >= 0
    return knn_gather(points, idx.clamp(min=0)) * found[..., None].to(points.dtype)


def _first_within(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,
    radius2: float,
) -> torch.Tensor:
    """(N, P1, K) int64 indices of the first K points of p2 with squared distance below
    radius2 of each query, in increasing order, -1 past the last one found."""
    N, P1, D = p1.shape
    idx = torch.full((N, P1, K), -1, dtype=torch.int64, device=p1.device)
    for n, (len1, len2) in enumerate(zip(lengths1.tolist(), lengths2.tolist())):
        k = min(K, len2)
        if len1 == 0 or k == 0:
            continue
        points = p2[n, :len2]
        order = torch.arange(len2, device=p1.device)
        step = max(1, CHUNK_ELEMENTS // max(1, len2 * D))
        for start in range(0, len1, step):
            stop = min(start + step, len1)
            inside = pair_distances(p1[n, start:stop], points, 2) < radius2
            # Points outside the ball sort after every point inside it.
            key = torch.where(inside, order, len2)
            first = torch.topk(key, k, dim=1, largest=False, sorted=True).values
            idx[n, start:stop, :k] = torch.where(first < len2, first, -1)
    return idx


def ball_query(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    K: int = 500,
    radius: float = 0.2,
    return_nn: bool = True,
) -> KNN:
    """Up to K points of p2 within ``radius`` of each point of p1, per batch item.

    Args:
        p1: (N, P1, D) query clouds; p2: (N, P2, D) clouds searched (float, one device).
        lengths1, lengths2: (N,) int64 numbers of valid points of each cloud (None: all).
        K: the most neighbours returned per query.
        radius: a point is a neighbour when its squared distance is below radius**2.
        return_nn: also return the neighbours' coordinates.
    Returns:
        KNN(dists, idx, knn): dists (N, P1, K) squared distances, idx (N, P1, K) int64 indices
        into p2 in increasing order (the first K found scanning p2), knn (N, P1, K, D) or None.
        Empty slots hold idx -1, dists 0 and knn 0. dists and knn are differentiable w.r.t. p1
        and p2.
    """
    op = "ball_query"
    check_positive_int(op, "K", K)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) \
            or not math.isfinite(radius) or radius <= 0:
        raise InputError(f"{op}: radius must be a positive finite number, got {radius!r}")
    lengths1, lengths2 = check_clouds(op, p1, p2, lengths1, lengths2)
    with torch.no_grad():
        idx = _first_within(p1, p2, lengths1, lengths2, K, float(radius) ** 2)
    nn = masked_gather(p2, idx)
    diff = p1[:, :, None, :] - nn
    dists = (diff * diff).sum(-1) * (idx >= 0).to(p1.dtype)
    return KNN(dists, idx, nn if return_nn else None)
