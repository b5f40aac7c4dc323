"""Bridge to the native kernels of knn_points: checks every tensor, allocates the outputs and
launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._checks import check_k_norm
from r3d._native.core import DTYPE_NAMES, addr, check, check_cloud_pair, emulated, launch
from r3d.value_checks import checked_range


def knn_points_forward(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,
    norm: int,
    emulate_cuda: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native KNN search.

    Args:
        p1: (N, P1, D) and p2: (N, P2, D) float32/float64, contiguous, same device.
        lengths1, lengths2: (N,) int64 in [0, P1] / [0, P2].
        K: neighbours per query (>= 1); norm: 2 (squared L2) or 1 (L1).
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        dists (N, P1, K) of p1's dtype and idx (N, P1, K) int64, nearest first, zeros in the
        slots without a neighbour.
    """
    op = "knn_points"
    N, P1, P2, D, lengths1, lengths2 = check_cloud_pair(op, p1, p2, lengths1, lengths2)
    check_k_norm(op, K, norm)
    dists = p1.new_empty((N, P1, K))
    idx = torch.empty((N, P1, K), dtype=torch.int64, device=p1.device)
    launch(
        emulated(op, "knn_forward", p1.device, emulate_cuda), p1.device,
        DTYPE_NAMES[p1.dtype], addr(p1), addr(p2), addr(lengths1),
        addr(lengths2), (N, P1, P2, D, K, norm), addr(dists), addr(idx),
    )
    return dists, idx


def knn_points_backward(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    idx: torch.Tensor,
    grad_dists: torch.Tensor,
    norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of the KNN distances.

    Args:
        p1, p2, lengths1, lengths2: as in the forward.
        idx: (N, P1, K) int64 from the forward (or ball_query's, whose empty slots hold -1);
            grad_dists: (N, P1, K) of p1's dtype.
    Returns:
        grad_p1 (N, P1, D) and grad_pairs (N, P1, K, D), the gradient w.r.t. each neighbour,
        for the caller to scatter onto p2.
    """
    op = "knn_points backward"
    N, P1, P2, D, lengths1, lengths2 = check_cloud_pair(op, p1, p2, lengths1, lengths2)
    check(op, "idx", idx, torch.int64, (N, P1, None), p1.device)
    K = idx.shape[2]
    check_k_norm(op, K, norm)
    idx = checked_range(op, "idx", idx, -1, max(P2, 1))
    check(op, "grad_dists", grad_dists, p1.dtype, (N, P1, K), p1.device)
    grad_p1 = p1.new_empty((N, P1, D))
    grad_pairs = p1.new_empty((N, P1, K, D))
    launch(
        "knn_backward", p1.device, DTYPE_NAMES[p1.dtype], addr(p1), addr(p2), addr(lengths1),
        addr(lengths2), addr(idx), addr(grad_dists), (N, P1, P2, D, K, norm), addr(grad_p1),
        addr(grad_pairs),
    )
    return grad_p1, grad_pairs

