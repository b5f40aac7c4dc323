"""Bridge to the native kernels of the mesh losses (edge length, normal consistency): checks every
tensor, allocates the outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw
pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.value_checks import checked_csr_ptr, checked_range


def _check_indexed(
    op: str, verts: torch.Tensor, index: torch.Tensor, width: int
) -> int:
    """Checks verts (V, 3) and an index table (K, width) in [0, V); returns K."""
    check_float(op, "verts", verts, (None, 3))
    check(op, "index", index, torch.int64, (None, width), verts.device)
    index = checked_range(op, "index", index, 0, verts.shape[0])
    return index.shape[0]


def _indexed_forward(
    name: str, op: str, verts: torch.Tensor, index: torch.Tensor, width: int, scalar: float
) -> torch.Tensor:
    """Runs a per-row forward kernel over the (K, width) index table; returns (K,) values."""
    rows = _check_indexed(op, verts, index, width)
    out = verts.new_empty((rows,))
    if rows:
        launch(
            name, verts.device, DTYPE_NAMES[verts.dtype], addr(verts), addr(index), rows,
            scalar, addr(out),
        )
    return out


def _indexed_backward(
    name: str,
    op: str,
    verts: torch.Tensor,
    index: torch.Tensor,
    width: int,
    grad: torch.Tensor,
    scalar: float,
) -> torch.Tensor:
    """Runs a per-row backward kernel; returns the (K, width, 3) gradient w.r.t. the corners
    the index table names, for the caller to scatter onto the vertices."""
    rows = _check_indexed(op, verts, index, width)
    check(op, "grad", grad, verts.dtype, (rows,), verts.device)
    grad_corners = verts.new_empty((rows, width, 3))
    if rows:
        launch(
            name, verts.device, DTYPE_NAMES[verts.dtype], addr(verts), addr(index), rows,
            addr(grad), scalar, addr(grad_corners),
        )
    return grad_corners


def edge_loss_forward(verts: torch.Tensor, edges: torch.Tensor, target: float) -> torch.Tensor:
    """Native ``(|v_a - v_b| - target) ** 2`` for every edge.

    Args:
        verts: (V, 3) float32/float64; edges: (E, 2) int64 in [0, V), same device.
    Returns:
        (E,) of verts' dtype.
    """
    return _indexed_forward("edge_loss_forward", "mesh_edge_loss", verts, edges, 2, target)


def edge_loss_backward(
    verts: torch.Tensor, edges: torch.Tensor, grad: torch.Tensor, target: float
) -> torch.Tensor:
    """Native backward of :func:`edge_loss_forward`: grad (E,) -> (E, 2, 3) per edge end."""
    return _indexed_backward(
        "edge_loss_backward", "mesh_edge_loss backward", verts, edges, 2, grad, target
    )


def normal_consistency_forward(
    verts: torch.Tensor, quads: torch.Tensor, eps: float
) -> torch.Tensor:
    """Native ``1 - cos(n0, n1)`` for every pair of faces sharing an edge.

    Args:
        verts: (V, 3) float32/float64.
        quads: (P, 4) int64 in [0, V): the edge (v0, v1) and the pair's third corners a, b.
        eps: the normals' lengths are clamped to at least eps.
    Returns:
        (P,) of verts' dtype.
    """
    return _indexed_forward(
        "normal_consistency_forward", "mesh_normal_consistency", verts, quads, 4, eps
    )


def normal_consistency_backward(
    verts: torch.Tensor, quads: torch.Tensor, grad: torch.Tensor, eps: float
) -> torch.Tensor:
    """Native backward of :func:`normal_consistency_forward`: grad (P,) -> (P, 4, 3)."""
    return _indexed_backward(
        "normal_consistency_backward", "mesh_normal_consistency backward", verts, quads, 4,
        grad, eps,
    )


def face_pairs(
    edges: torch.Tensor, ptr: torch.Tensor, order: torch.Tensor, corners: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native enumeration of the pairs of faces sharing each edge (mesh_normal_consistency).

    Args:
        edges: (E, 2) int64 vertex indices.
        ptr: (E + 1,) int64 and order (M,) int64 in [0, M): the M face-edge incidences grouped
            by edge (``r3d.ops.csr.group_by``), same device.
        corners: (M,) int64, the corner of each incidence's face opposite its edge.
    Returns:
        quads (P, 4) int64 (edges[e, 0], edges[e, 1], corner i, corner j) for every edge e and
        pair of its incidences i < j (in ``order``), and pair_edge (P,) int64 their edges.
    """
    op = "mesh_normal_consistency pairs"
    check(op, "edges", edges, torch.int64, (None, 2), edges.device)
    num_edges = edges.shape[0]
    check(op, "ptr", ptr, torch.int64, (num_edges + 1,), edges.device)
    check(op, "order", order, torch.int64, (None,), edges.device)
    num_incidences = order.shape[0]
    check(op, "corners", corners, torch.int64, (num_incidences,), edges.device)
    ptr = checked_csr_ptr(op, "ptr", ptr, num_incidences)
    counts = ptr[1:] - ptr[:-1]
    order = checked_range(op, "order", order, 0, num_incidences)
    pairs = counts * (counts - 1) // 2
    pair_first = torch.cumsum(pairs, 0) - pairs
    num_pairs = int(pairs.sum())
    quads = torch.empty((num_pairs, 4), dtype=torch.int64, device=edges.device)
    pair_edge = torch.empty((num_pairs,), dtype=torch.int64, device=edges.device)
    if num_pairs:
        launch(
            "face_pairs", edges.device, addr(edges), addr(ptr), addr(order), addr(corners),
            addr(pair_first), num_edges, addr(quads), addr(pair_edge),
        )
    return quads, pair_edge

