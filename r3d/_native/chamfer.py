"""Bridge to the fused Chamfer kernels (CPU only: on CUDA chamfer_distance runs knn_points):
checks every tensor, allocates the outputs and launches the CPU launchers of ``r3d._C`` on raw
pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_cloud_pair, check_device, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range

CPU = torch.device("cpu")
# The most points a cloud may have (the kernels' indices are int32).
MAX_POINTS = 2**31 - 1


def _check_pair(
    op: str, x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor,
    y_lengths: torch.Tensor, norm: int, directions: int,
) -> tuple[int, int, int, torch.Tensor, torch.Tensor]:
    """Checks the CPU clouds x (N, P1, 3) and y (N, P2, 3), their (N,) int64 lengths, norm and
    directions; returns (N, P1, P2, x_lengths, y_lengths)."""
    if isinstance(x, torch.Tensor):
        check_device(op, "x", x, CPU)
    for name, lengths in (("x_lengths", x_lengths), ("y_lengths", y_lengths)):
        if not isinstance(lengths, torch.Tensor):
            raise InputError(f"{op}: {name} must be an int64 tensor, got {type(lengths).__name__}")
    N, P1, P2, D, x_lengths, y_lengths = check_cloud_pair(op, x, y, x_lengths, y_lengths)
    if D != 3 or max(P1, P2) > MAX_POINTS:
        raise InputError(f"{op}: x and y must be 3D clouds of at most {MAX_POINTS} points, got "
                         f"shapes {tuple(x.shape)} and {tuple(y.shape)}")
    for name, value in (("norm", norm), ("directions", directions)):
        if isinstance(value, bool) or value not in (1, 2):
            raise InputError(f"{op}: {name} must be 1 or 2, got {value!r}")
    return N, P1, P2, x_lengths, y_lengths


def chamfer_forward(
    x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor, y_lengths: torch.Tensor,
    norm: int, directions: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native nearest-neighbour sums of both directions of a Chamfer distance.

    Args:
        x: (N, P1, 3) and y: (N, P2, 3) float32/float64 CPU clouds, contiguous.
        x_lengths, y_lengths: (N,) int64 in [0, P1] / [0, P2].
        norm: 2 (squared Euclidean distances) or 1 (L1).
        directions: 1 (from x to y only) or 2 (and from y to x).
    Returns:
        sums (directions, N) of x's dtype: per cloud, the distances from its valid points to
        their nearest point of the other cloud, summed (0 when that cloud is empty); x_idx
        (N, P1) and y_idx (N, P2, or (N, 0) with one direction) int32: those nearest points'
        indices (0 for padded points and empty targets).
    """
    op = "chamfer_distance"
    N, P1, P2, x_lengths, y_lengths = _check_pair(op, x, y, x_lengths, y_lengths, norm,
                                                  directions)
    sums = x.new_empty((directions, N))
    x_idx = torch.empty((N, P1), dtype=torch.int32)
    y_idx = torch.empty((N, P2 if directions == 2 else 0), dtype=torch.int32)
    launch("chamfer_forward", CPU, DTYPE_NAMES[x.dtype], addr(x), addr(y), addr(x_lengths),
           addr(y_lengths), (N, P1, P2, norm, directions), addr(sums), addr(x_idx), addr(y_idx))
    return sums, x_idx, y_idx


def chamfer_backward(
    x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor, y_lengths: torch.Tensor,
    x_idx: torch.Tensor, y_idx: torch.Tensor, grad_sums: torch.Tensor, norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of :func:`chamfer_forward`'s sums.

    Args:
        x, y, x_lengths, y_lengths, norm: as in the forward.
        x_idx (N, P1) int32 in [0, P2) and y_idx (N, P2) int32 in [0, P1) ((N, 0) with one
            direction): the forward's indices.
        grad_sums: (directions, N) of x's dtype, directions being 1 or 2.
    Returns:
        grad_x (N, P1, 3) and grad_y (N, P2, 3), zero in the padded rows.
    """
    op = "chamfer_distance backward"
    directions = grad_sums.shape[0] if isinstance(grad_sums, torch.Tensor) \
        and grad_sums.dim() else 0
    N, P1, P2, x_lengths, y_lengths = _check_pair(op, x, y, x_lengths, y_lengths, norm,
                                                  directions)
    check(op, "grad_sums", grad_sums, x.dtype, (directions, N), CPU)
    check(op, "x_idx", x_idx, torch.int32, (N, P1), CPU)
    check(op, "y_idx", y_idx, torch.int32, (N, P2 if directions == 2 else 0), CPU)
    x_idx = checked_range(op, "x_idx", x_idx, 0, max(P2, 1))
    y_idx = checked_range(op, "y_idx", y_idx, 0, max(P1, 1))
    grad_x, grad_y = torch.empty_like(x), torch.empty_like(y)
    launch("chamfer_backward", CPU, DTYPE_NAMES[x.dtype], addr(x), addr(y), addr(x_lengths),
           addr(y_lengths), addr(x_idx), addr(y_idx), addr(grad_sums),
           (N, P1, P2, norm, directions), addr(grad_x), addr(grad_y))
    return grad_x, grad_y
