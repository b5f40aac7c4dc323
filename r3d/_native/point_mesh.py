"""Bridge to the native kernels of the point-to-mesh distances (point-face, point-edge and their
reverse): checks every tensor, allocates the outputs and launches the CPU or CUDA launcher of
``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._checks import segment_lengths
from r3d._native.core import DTYPE_NAMES, addr, check, check_float, emulated, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range


def _check_point_mesh(
    op: str, points: torch.Tensor, prims: torch.Tensor
) -> tuple[int, int, int]:
    """Checks points (P, 3) and prims (S, K, 3) with K in (2, 3); returns P, S and K."""
    check_float(op, "points", points, (None, 3))
    check(op, "prims", prims, points.dtype, (None, None, 3), points.device)
    if prims.shape[1] not in (2, 3):
        raise InputError(
            f"{op}: prims must have shape (S, 3, 3) (triangles) or (S, 2, 3) (segments), "
            f"got {tuple(prims.shape)}"
        )
    return points.shape[0], prims.shape[0], prims.shape[1]


def point_mesh_forward(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    prims: torch.Tensor,
    prims_first_idx: torch.Tensor,
    min_area: float,
    point_queries: bool,
    emulate_cuda: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native nearest-primitive search (point_queries) or nearest-point search (otherwise).

    The CPU launcher searches a tree per batch item built on the host, the CUDA launcher one built
    on the GPU (csrc/point_mesh/lbvh.h); both give the same matches (ties: the lowest index).

    Args:
        points: (P, 3) float32/float64, contiguous.
        points_first_idx: (N,) int64, first point of each batch item.
        prims: (S, K, 3) of points' dtype: triangles (K = 3) or segments (K = 2).
        prims_first_idx: (N,) int64, first primitive of each batch item.
        min_area: triangles of smaller area count as their three edges.
        point_queries: True to match every point with a primitive, False the other way round.
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        dists (Q,) squared distances and idx (Q,) int64 packed indices of the matches, Q being
        P or S; +inf and -1 where the item has nothing to match with.
    """
    op = "point_mesh distance"
    num_points, num_prims, corners = _check_point_mesh(op, points, prims)
    check(op, "points_first_idx", points_first_idx, torch.int64, (None,), points.device)
    num_items = points_first_idx.shape[0]
    check(op, "prims_first_idx", prims_first_idx, torch.int64, (num_items,), points.device)
    segment_lengths(op, points_first_idx, num_points, num_points, "points_first_idx")
    segment_lengths(op, prims_first_idx, num_prims, num_prims, "prims_first_idx")
    num_queries = num_points if point_queries else num_prims
    dists = points.new_empty((num_queries,))
    idx = torch.empty((num_queries,), dtype=torch.int64, device=points.device)
    if num_queries:
        launch(
            emulated(op, "point_mesh_forward", points.device, emulate_cuda), points.device,
            DTYPE_NAMES[points.dtype], addr(points),
            addr(points_first_idx), num_points, addr(prims), addr(prims_first_idx), num_prims,
            num_items, min_area, addr(dists), addr(idx), corners, point_queries,
        )
    return dists, idx


def point_mesh_backward(
    points: torch.Tensor,
    prims: torch.Tensor,
    idx: torch.Tensor,
    grad_dists: torch.Tensor,
    min_area: float,
    point_queries: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward of :func:`point_mesh_forward`.

    Args:
        points: (P, 3), prims: (S, K, 3), min_area, point_queries: as in the forward.
        idx: (Q,) int64, the forward's matches in [-1, S) or [-1, P).
        grad_dists: (Q,) of points' dtype.
    Returns:
        grad_points (Q, 3) and grad_prims (Q, K, 3): the gradient w.r.t. the point and the
        corners of each query's pair (zero where idx is -1), to be scattered by the caller.
    """
    op = "point_mesh distance backward"
    num_points, num_prims, corners = _check_point_mesh(op, points, prims)
    num_queries, num_matches = (num_points, num_prims) if point_queries else (num_prims, num_points)
    check(op, "idx", idx, torch.int64, (num_queries,), points.device)
    idx = checked_range(op, "idx", idx, -1, num_matches)
    check(op, "grad_dists", grad_dists, points.dtype, (num_queries,), points.device)
    grad_points = points.new_empty((num_queries, 3))
    grad_prims = points.new_empty((num_queries, corners, 3))
    if num_queries:
        launch(
            "point_mesh_backward", points.device, DTYPE_NAMES[points.dtype], addr(points),
            addr(prims), addr(idx), addr(grad_dists), min_area, addr(grad_points),
            addr(grad_prims), num_queries, corners, point_queries,
        )
    return grad_points, grad_prims

