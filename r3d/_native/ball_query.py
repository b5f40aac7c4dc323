"""Bridge to the native kernels of ball_query: checks every tensor, allocates the outputs and
launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers. The gradient of its distances
is :func:`r3d._native.knn.knn_points_backward` (the same sums; it skips slots holding -1)."""

from __future__ import annotations

import torch

from r3d._checks import check_positive_float, check_positive_int
from r3d._native.core import DTYPE_NAMES, addr, check_cloud_pair, emulated, launch
from r3d.errors import InputError

# The kernels number a cloud's points with int32.
MAX_POINTS = 2**31 - 1


def ball_query_forward(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,
    radius: float,
    emulate_cuda: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native ball query.

    Args:
        p1: (N, P1, D) and p2: (N, P2, D) float32/float64, contiguous, same device.
        lengths1, lengths2: (N,) int64 in [0, P1] / [0, P2].
        K: the most neighbours per query (>= 1).
        radius: positive and finite; neighbours have squared distance below radius**2
            (rounded to the points' dtype).
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        dists (N, P1, K) of p1's dtype and idx (N, P1, K) int64: for each query the first K
        points of its cloud of p2 (in index order) within the radius, in increasing index
        order, then distance 0 and index -1.
    """
    op = "ball_query"
    N, P1, P2, D, lengths1, lengths2 = check_cloud_pair(op, p1, p2, lengths1, lengths2)
    check_positive_int(op, "K", K)
    radius = check_positive_float(op, "radius", radius)
    if P2 > MAX_POINTS:
        raise InputError(f"{op}: p2 may hold at most {MAX_POINTS} points a cloud, got {P2}")
    dists = p1.new_empty((N, P1, K))
    idx = torch.empty((N, P1, K), dtype=torch.int64, device=p1.device)
    if N * P1:
        launch(
            emulated(op, "ball_query_forward", p1.device, emulate_cuda), p1.device,
            DTYPE_NAMES[p1.dtype], addr(p1), addr(p2), addr(lengths1), addr(lengths2),
            (N, P1, P2, D, K), radius, addr(dists), addr(idx),
        )
    return dists, idx
