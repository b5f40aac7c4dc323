"""K nearest neighbours between batches of point clouds of different sizes.

``knn_points`` follows PyTorch3D's signature and outputs. On the CPU it runs a native kd-tree
search (brute force where that wins: few points, large K or D != 3); on CUDA a native kernel: a
uniform grid per cloud for large 3D clouds, else a tiled search (points staged in shared memory,
the K <= 32 best in registers), brute force beyond; every path finds the same neighbours (same
distances, ties by lower index). Elsewhere the chunked pure-PyTorch implementation
:func:`knn_points_torch` runs, which is also the test oracle.
"""

from __future__ import annotations

from collections import namedtuple

import torch

from r3d._checks import check_k_norm, describe
from r3d._native import knn as bridge
from r3d._native import use_native
from r3d._native.core import load_aware_threads
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.ops.clouds import CHUNK_ELEMENTS, check_clouds, valid_points, zero_padding
from r3d.value_checks import checked_range, tracing

KNN = namedtuple("KNN", "dists idx knn")
KNN.__doc__ = "knn_points result: dists (N, P1, K), idx (N, P1, K), knn (N, P1, K, D) or None."

def pair_distances(a: torch.Tensor, b: torch.Tensor, norm: int) -> torch.Tensor:
    """Squared L2 (norm=2) or L1 (norm=1) distances between all rows: (A, D), (B, D) -> (A, B)."""
    diff = a[:, None, :] - b[None, :, :]
    return diff.abs().sum(-1) if norm == 1 else (diff * diff).sum(-1)


def _knn_idx_torch(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,
    norm: int,
) -> torch.Tensor:
    """(N, P1, K) int64 neighbour indices (0 where there is no neighbour), nearest first."""
    N, P1, _ = p1.shape
    idx = torch.zeros((N, P1, K), dtype=torch.int64, device=p1.device)
    for n, (len1, len2) in enumerate(zip(lengths1.tolist(), lengths2.tolist())):
        k = min(K, len2)
        if len1 == 0 or k == 0:
            continue
        points = p2[n, :len2]
        step = max(1, CHUNK_ELEMENTS // max(1, len2 * p1.shape[2]))
        for start in range(0, len1, step):
            stop = min(start + step, len1)
            d = pair_distances(p1[n, start:stop], points, norm)
            idx[n, start:stop, :k] = _nearest_k(d, k)
    return idx


def _nearest_k(d: torch.Tensor, k: int) -> torch.Tensor:
    """(A, k) indices of the k smallest of each row of d (A, B), nearest first, ties (at the
    k-th distance too) broken by the lower index."""
    kth = torch.topk(d, k, dim=1, largest=False, sorted=True).values[:, -1:]
    below = d < kth
    ties = d == kth
    # the lowest-index ties fill the places the distances below the k-th one leave
    room = k - below.sum(1, keepdim=True)
    chosen = below | (ties & (torch.cumsum(ties, 1) <= room))
    near = chosen.nonzero()[:, 1].view(-1, k)  # in index order
    order = torch.sort(torch.gather(d, 1, near), dim=1, stable=True).indices
    return torch.gather(near, 1, order)


def knn_gather(
    x: torch.Tensor, idx: torch.Tensor, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Gathers the neighbours that ``idx`` names.

    Args:
        x: (N, M, U) features of the points of the second cloud.
        idx: (N, L, K) int64 indices into x's second axis (as returned by knn_points).
        lengths: (N,) int64 lengths of x's clouds; neighbour slots k >= lengths[n] are zero.
    Returns:
        (N, L, K, U) gathered features, differentiable w.r.t. x.
    """
    op = "knn_gather"
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise InputError(f"{op}: x must be a tensor of shape (N, M, U), got {describe(x)}")
    if not isinstance(idx, torch.Tensor) or idx.dtype != torch.int64 or idx.dim() != 3:
        raise InputError(f"{op}: idx must be an int64 tensor (N, L, K), got {describe(idx)}")
    N, M, U = x.shape
    if idx.shape[0] != N:
        raise InputError(f"{op}: x and idx must share N, got {N} and {idx.shape[0]}")
    idx = checked_range(op, "idx", idx, 0, max(M, 1))
    _, L, K = idx.shape
    if M == 0:
        return x.new_zeros((N, L, K, U))
    out = torch.gather(x[:, :, None, :].expand(N, M, K, U), 1, idx[..., None].expand(N, L, K, U))
    if lengths is not None:
        slots = torch.arange(K, device=idx.device)
        # where, not a product: a padded point's NaN or inf must not leak into an empty slot
        out = torch.where((slots[None, :] < lengths[:, None])[:, None, :, None], out, 0)
    return out


def _masked_neighbours(p2: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The points (N, P1, K, D) idx names, 0 where ~mask (where, not a product: a padded NaN
    or inf read for an empty slot must not leak)."""
    return torch.where(mask[..., None], knn_gather(p2, idx), 0)


def _gathered_dists(
    p1: torch.Tensor, p2: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor, norm: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances (N, P1, K) from each query to the points idx names (0 where ~mask), and those
    points (N, P1, K, D); differentiable w.r.t. p1 and p2."""
    nn = _masked_neighbours(p2, idx, mask)
    diff = p1[:, :, None, :] - nn
    dists = diff.abs().sum(-1) if norm == 1 else (diff * diff).sum(-1)
    return torch.where(mask, dists, 0), nn  # (not a product: an overflowed inf * 0 is NaN)


def valid_neighbours(
    lengths1: torch.Tensor, lengths2: torch.Tensor, P1: int, K: int
) -> torch.Tensor:
    """(N, P1, K) bool: query i < lengths1[n] and neighbour slot k < lengths2[n]."""
    return valid_points(lengths1, P1)[:, :, None] & valid_points(lengths2, K)[:, None, :]


def knn_points_torch(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    norm: int = 2,
    K: int = 1,
    return_nn: bool = False,
    return_sorted: bool = True,
) -> KNN:
    """Pure-PyTorch :func:`knn_points` (any device; chunked so memory stays bounded)."""
    op = "knn_points"
    check_k_norm(op, K, norm)
    lengths1, lengths2 = check_clouds(op, p1, p2, lengths1, lengths2)
    p1, p2 = zero_padding(p1, lengths1), zero_padding(p2, lengths2)
    with torch.no_grad():
        idx = _knn_idx_torch(p1, p2, lengths1, lengths2, K, norm)
    mask = valid_neighbours(lengths1, lengths2, p1.shape[1], K)
    dists, nn = _gathered_dists(p1, p2, idx, mask, norm)
    return KNN(dists, idx, nn if return_nn else None)


def scatter_pair_gradients(
    grad_pairs: torch.Tensor, idx: torch.Tensor, p2: torch.Tensor
) -> torch.Tensor:
    """The gradient w.r.t. p2 (N, P2, D) of a search's distances from the gradients w.r.t. each
    neighbour, grad_pairs (N, P1, K, D), summed onto the points idx (N, P1, K) names (a slot
    whose gradient is zero may name any index in [-1, P2))."""
    N, P2, D = p2.shape
    grad_p2 = torch.zeros_like(p2)
    if P2 == 0 or idx.numel() == 0:
        return grad_p2
    offsets = torch.arange(N, device=idx.device)[:, None, None] * P2
    flat = (idx.clamp(min=0) + offsets).reshape(-1)
    grad_p2.view(-1, D).index_add_(0, flat, grad_pairs.reshape(-1, D))
    return grad_p2


@native_op("knn_points", lambda p1, p2, lengths1, lengths2, K, norm: (
    p1.new_empty((p1.shape[0], p1.shape[1], K)),
    p1.new_empty((p1.shape[0], p1.shape[1], K), dtype=torch.int64),
))
def knn_points_op(
    p1: torch.Tensor, p2: torch.Tensor, lengths1: torch.Tensor, lengths2: torch.Tensor, K: int,
    norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native search: dists (N, P1, K) and idx (N, P1, K) int64 (see the bridge)."""
    return bridge.knn_points_forward(p1, p2, lengths1, lengths2, K, norm)


@native_op("knn_points_backward", lambda p1, p2, lengths1, lengths2, idx, grad_dists, norm: (
    torch.empty_like(p1), p1.new_empty((*idx.shape, p1.shape[2])),
))
def knn_points_backward_op(
    p1: torch.Tensor, p2: torch.Tensor, lengths1: torch.Tensor, lengths2: torch.Tensor,
    idx: torch.Tensor, grad_dists: torch.Tensor, norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of the distances: grad_p1 (N, P1, D) and grad_pairs (N, P1, K, D)."""
    return bridge.knn_points_backward(
        p1, p2, lengths1, lengths2, idx, grad_dists.contiguous(), norm
    )


def search_backward(ctx, grad_dists: torch.Tensor, _grad_idx) -> tuple:
    """Gradients of a search's distances w.r.t. p1 and p2 (knn_points and ball_query, whose
    setup saved p1, p2, lengths1, lengths2, idx and the norm)."""
    p1, p2, lengths1, lengths2, idx = ctx.saved_tensors
    grad_p1, grad_pairs = knn_points_backward_op(
        p1, p2, lengths1, lengths2, idx, grad_dists, ctx.norm
    )
    with load_aware_threads():  # the scatter is a torch op outside the native ones
        grad_p2 = scatter_pair_gradients(grad_pairs, idx, p2)
    return grad_p1, grad_p2, None, None, None, None


def _setup_knn(ctx, inputs, output) -> None:
    p1, p2, lengths1, lengths2, _, norm = inputs
    ctx.save_for_backward(p1, p2, lengths1, lengths2, output[1])
    ctx.norm = norm


knn_points_op.register_autograd(search_backward, setup_context=_setup_knn)


def _needs_op(p1: torch.Tensor, p2: torch.Tensor) -> bool:
    """Whether a search must run as the registered op: a gradient may flow to p1 or p2, or the
    call is being traced."""
    grad = torch.is_grad_enabled() and (p1.requires_grad or p2.requires_grad)
    return grad or tracing(p1)


def knn_points(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    norm: int = 2,
    K: int = 1,
    version: int = -1,
    return_nn: bool = False,
    return_sorted: bool = True,
) -> KNN:
    """The K nearest points of p2 to each point of p1, per batch item.

    Args:
        p1: (N, P1, D) query clouds; p2: (N, P2, D) clouds searched (float, one device).
        lengths1, lengths2: (N,) int64 numbers of valid points of each cloud (None: all).
        norm: 2 for squared Euclidean distances, 1 for L1 distances.
        K: neighbours per query.
        version: accepted and ignored: PyTorch3D's choice among its CUDA kernels (-1 picks
            one); r3d has one kernel per device, with the same results.
        return_nn: also return the neighbours' coordinates.
        return_sorted: kept for PyTorch3D compatibility; neighbours are always sorted nearest
            first (ties by lower index).
    Returns:
        KNN(dists, idx, knn): dists (N, P1, K) squared (or L1) distances, idx (N, P1, K) int64
        indices into p2, knn (N, P1, K, D) or None. Slots with no neighbour (padded queries,
        k >= lengths2[n]) hold 0 in all three. dists and knn are differentiable w.r.t. p1, p2.
    """
    if not (isinstance(p1, torch.Tensor) and use_native(p1, "knn_points")):
        return knn_points_torch(p1, p2, lengths1, lengths2, norm, K, return_nn, return_sorted)
    op = "knn_points"
    check_k_norm(op, K, norm)
    lengths1, lengths2 = check_clouds(op, p1, p2, lengths1, lengths2)
    # the registered op for autograd and tracing; else its body without the dispatch's cost
    search = knn_points_op if _needs_op(p1, p2) else bridge.knn_points_forward
    dists, idx = in_float32(
        search, p1.contiguous(), p2.contiguous(), lengths1.contiguous(), lengths2.contiguous(),
        K, norm,
    )
    nn = None
    if return_nn:
        mask = valid_neighbours(lengths1, lengths2, p1.shape[1], K)
        nn = _masked_neighbours(p2, idx, mask)
    return KNN(dists, idx, nn)
