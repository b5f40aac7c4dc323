"""Ball query: the first K points of a cloud within a radius of each query point.

``ball_query`` follows PyTorch3D's signature and outputs: neighbours are the first K points of
p2, in index order, whose squared distance to the query is strictly below radius**2. On the CPU
and CUDA it runs native kernels (for D = 3 a uniform grid per cloud of p2, the 27 cells around
each query; brute force in index order for other D), elsewhere the chunked pure-PyTorch
implementation :func:`ball_query_torch`, which is also the test oracle.
"""

from __future__ import annotations

import torch

from r3d._checks import check_positive_float, check_positive_int
from r3d._native import ball_query as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.ops.clouds import CHUNK_ELEMENTS, check_clouds, zero_padding
from r3d.ops.knn import KNN, knn_gather, pair_distances, search_backward


def masked_gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``points`` that ``idx`` names, with zeros where idx is -1.

    Args:
        points: (N, P, D) tensor.
        idx: (N, L, K) int64 indices in [0, P) or -1.
    Returns:
        (N, L, K, D) tensor, differentiable w.r.t. points.
    """
    found = idx >= 0
    # where, not a product: the NaN or inf of the row read for -1 must not leak
    return torch.where(found[..., None], knn_gather(points, idx.clamp(min=0)), 0)


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


def _check_arguments(op, p1, p2, lengths1, lengths2, K, radius):
    """Checks a ball_query call; returns its lengths1, lengths2 and radius (a float)."""
    check_positive_int(op, "K", K)
    radius = check_positive_float(op, "radius", radius)
    return (*check_clouds(op, p1, p2, lengths1, lengths2), radius)


def ball_query_torch(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    K: int = 500,
    radius: float = 0.2,
    return_nn: bool = True,
) -> KNN:
    """Pure-PyTorch :func:`ball_query` (any device; chunked so memory stays bounded)."""
    lengths1, lengths2, radius = _check_arguments(
        "ball_query", p1, p2, lengths1, lengths2, K, radius
    )
    p1, p2 = zero_padding(p1, lengths1), zero_padding(p2, lengths2)
    with torch.no_grad():
        idx = _first_within(p1, p2, lengths1, lengths2, K, radius**2)
    nn = masked_gather(p2, idx)
    diff = p1[:, :, None, :] - nn
    dists = torch.where(idx >= 0, (diff * diff).sum(-1), 0)  # (not a product: inf * 0 is NaN)
    return KNN(dists, idx, nn if return_nn else None)


@native_op("ball_query", lambda p1, p2, lengths1, lengths2, K, radius: (
    p1.new_empty((p1.shape[0], p1.shape[1], K)),
    p1.new_empty((p1.shape[0], p1.shape[1], K), dtype=torch.int64),
))
def ball_query_op(
    p1: torch.Tensor, p2: torch.Tensor, lengths1: torch.Tensor, lengths2: torch.Tensor, K: int,
    radius: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native search: dists (N, P1, K) and idx (N, P1, K) int64, -1 in empty slots."""
    return bridge.ball_query_forward(p1, p2, lengths1, lengths2, K, radius)


def _setup_ball_query(ctx, inputs, output) -> None:
    p1, p2, lengths1, lengths2, _, _ = inputs
    ctx.save_for_backward(p1, p2, lengths1, lengths2, output[1])
    ctx.norm = 2  # knn_points' backward skips the empty slots


ball_query_op.register_autograd(search_backward, setup_context=_setup_ball_query)


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
    if not (isinstance(p1, torch.Tensor) and use_native(p1, "ball_query")):
        return ball_query_torch(p1, p2, lengths1, lengths2, K, radius, return_nn)
    lengths1, lengths2, radius = _check_arguments(
        "ball_query", p1, p2, lengths1, lengths2, K, radius
    )
    dists, idx = in_float32(
        ball_query_op, p1.contiguous(), p2.contiguous(), lengths1.contiguous(),
        lengths2.contiguous(), K, radius,
    )
    return KNN(dists, idx, masked_gather(p2, idx) if return_nn else None)
