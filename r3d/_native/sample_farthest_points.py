"""Bridge to the native kernels of sample_farthest_points: checks every tensor, allocates the
outputs and the workspace and launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._checks import check_int
from r3d._native.core import DTYPE_NAMES, addr, check, check_float, emulated, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range


def sample_farthest_points_indices(
    points: torch.Tensor,
    lengths: torch.Tensor,
    k: torch.Tensor,
    start: torch.Tensor,
    max_k: int,
    emulate_cuda: bool = False,
) -> torch.Tensor:
    """Native iterative farthest point sampling.

    Args:
        points: (N, P, D) float32/float64, contiguous.
        lengths: (N,) int64 in [0, P]: the valid points of each cloud.
        k: (N,) int64 in [1, max_k]: samples asked of each cloud.
        start: (N,) int64: each cloud's first sample, in [0, lengths[n]) (0 for an empty cloud).
        max_k: the width of the output (>= max of k).
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        (N, max_k) int64: cloud n's min(k[n], lengths[n]) samples in the order chosen (the
        farthest from the samples before, ties to the lowest index), then -1.
    """
    op = "sample_farthest_points"
    check_float(op, "points", points, (None, None, None))
    N, P, D = points.shape
    device = points.device
    check_int(op, "max_k", max_k, 0)
    for name, t in (("lengths", lengths), ("K", k), ("start", start)):
        check(op, name, t, torch.int64, (N,), device)
    lengths = checked_range(op, "lengths", lengths, 0, P + 1)
    k = checked_range(op, "K", k, 1, max_k + 1)
    if N and not bool(((start >= 0) & (start < lengths.clamp(min=1))).all()):
        raise InputError(
            f"{op}: start must lie in [0, lengths[n] - 1] (0 for an empty cloud), got "
            f"{start.tolist()} for lengths {lengths.tolist()}"
        )
    idx = torch.empty((N, max_k), dtype=torch.int64, device=device)
    if N:
        closest = points.new_empty((N, P))
        launch(
            emulated(op, "sample_farthest_points", device, emulate_cuda), device,
            DTYPE_NAMES[points.dtype], addr(points), addr(lengths), addr(k), addr(start),
            (N, P, D, max_k), addr(closest), addr(idx),
        )
    return idx
