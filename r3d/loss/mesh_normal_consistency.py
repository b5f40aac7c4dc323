"""Normal consistency regulariser of meshes (PyTorch3D's ``mesh_normal_consistency``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d._native import mesh_losses as bridge
from r3d._native import use_native
from r3d._native.library import dynamic_size, in_float32, native_op
from r3d.loss._mesh_batch import check_meshes, empty_loss, per_item_mean
from r3d.ops.csr import group_by, group_by_torch, scatter_add_rows
from r3d.structures import Meshes
from r3d.transforms.math import cross

COS_EPS = 1e-8  # normals' lengths are clamped to at least this (torch.cosine_similarity's eps)


def mesh_normal_consistency(meshes: Meshes) -> torch.Tensor:
    """Mean of ``1 - cos`` between the normals of faces that share an edge.

    For every edge (v0, v1) of ``meshes.edges_packed()`` and every pair of faces on it (all
    pairs when more than two faces share it), with a and b the faces' third corners:
    ``n0 = (v1 - v0) x (a - v0)``, ``n1 = (b - v0) x (v1 - v0)`` and the pair contributes
    ``1 - cos(n0, n1)``: 0 where the faces are coplanar on opposite sides of the edge, 2 where
    they fold onto each other. Independent of the faces' winding. Each pair weighs
    1 / (pairs of its mesh); the sum is divided by N (meshes without a pair count as 0).

    Args:
        meshes: N meshes.
    Returns:
        () tensor, differentiable w.r.t. the vertices; 0 when no mesh has a face.
    """
    return _normal_consistency(meshes, native=True)


def mesh_normal_consistency_torch(meshes: Meshes) -> torch.Tensor:
    """Pure-PyTorch :func:`mesh_normal_consistency` (any device; the oracle)."""
    return _normal_consistency(meshes, native=False)


def _incidences(meshes: Meshes, group: Callable) -> tuple[torch.Tensor, ...]:
    """The face-edge incidences 3f + k (face f's edge opposite its corner k), grouped by edge:
    ptr (E + 1,), order (3F,), and each incidence's edge (3F,) and corner (3F,)."""
    edge_of = meshes.faces_packed_to_edges_packed().reshape(-1)
    ptr, order = group(edge_of, meshes.edges_packed().shape[0])
    return ptr, order, edge_of, meshes.faces_packed().reshape(-1)


def face_pairs(meshes: Meshes) -> tuple[torch.Tensor, torch.Tensor]:
    """Every pair of faces sharing an edge, as the edge and the faces' third corners.

    Native on devices with native kernels (else :func:`face_pairs_torch`).

    Args:
        meshes: N meshes.
    Returns:
        quads (P, 4) int64 packed vertex indices (v0, v1, a, b), (v0, v1) the edge as in
        edges_packed, and pair_mesh (P,) int64 the mesh of each pair.
    """
    if not use_native(meshes.verts_packed(), "mesh_normal_consistency"):
        return face_pairs_torch(meshes)
    ptr, order, _, corner = _incidences(meshes, group_by)
    quads, pair_edge = face_pairs_op(meshes.edges_packed(), ptr, order, corner)
    return quads, meshes.edges_packed_to_mesh_idx()[pair_edge]


def face_pairs_torch(meshes: Meshes) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`face_pairs` (the same pairs in the same order)."""
    ptr, order, edge_of, corner = _incidences(meshes, group_by_torch)
    edge_sorted = edge_of[order]
    rank = torch.arange(order.shape[0], device=order.device) - ptr[edge_sorted]
    later = ptr.diff()[edge_sorted] - 1 - rank  # incidences of the same edge after this one
    first = torch.repeat_interleave(later)
    start = torch.cumsum(later, 0) - later
    second = first + 1 + torch.arange(first.shape[0], device=first.device) - start[first]
    edge = edge_sorted[first]
    edges = meshes.edges_packed()
    quads = torch.stack(
        [edges[edge, 0], edges[edge, 1], corner[order[first]], corner[order[second]]], dim=1
    )
    return quads, meshes.edges_packed_to_mesh_idx()[edge]


def _normal_consistency(meshes: Meshes, native: bool) -> torch.Tensor:
    check_meshes("mesh_normal_consistency", meshes)
    if meshes.isempty():
        return empty_loss(meshes)
    verts = meshes.verts_packed()
    if native and use_native(verts, "mesh_normal_consistency"):
        quads, pair_mesh = face_pairs(meshes)
        values = in_float32(normal_consistency_op, verts, quads)
    else:
        quads, pair_mesh = face_pairs_torch(meshes)
        v0, v1, a, b = verts[quads].unbind(1)
        e = v1 - v0
        n0 = cross(e, a - v0)
        n1 = cross(b - v0, e)
        values = 1 - torch.cosine_similarity(n0, n1, dim=1, eps=COS_EPS)
    return per_item_mean(values, pair_mesh, len(meshes))


@native_op("face_pairs", lambda edges, ptr, order, corners: (
    edges.new_empty((dynamic_size(), 4)), edges.new_empty((dynamic_size(),))))
def face_pairs_op(
    edges: torch.Tensor, ptr: torch.Tensor, order: torch.Tensor, corners: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native enumeration of the face pairs of every edge: quads (P, 4) and pair_edge (P,)."""
    return bridge.face_pairs(edges, ptr, order, corners)


@native_op("mesh_normal_consistency", lambda verts, quads: verts.new_empty((quads.shape[0],)))
def normal_consistency_op(verts: torch.Tensor, quads: torch.Tensor) -> torch.Tensor:
    """Native per-pair ``1 - cos`` (P,) of verts (V, 3) and quads (P, 4)."""
    return bridge.normal_consistency_forward(verts.contiguous(), quads, COS_EPS)


@native_op("mesh_normal_consistency_backward",
           lambda verts, quads, grad: torch.empty_like(verts))
def normal_consistency_backward_op(
    verts: torch.Tensor, quads: torch.Tensor, grad: torch.Tensor
) -> torch.Tensor:
    """Native backward: the gradient w.r.t. verts (V, 3)."""
    verts = verts.contiguous()
    grad_corners = bridge.normal_consistency_backward(verts, quads, grad.contiguous(), COS_EPS)
    return scatter_add_rows(grad_corners.view(-1, 3), quads.view(-1), verts.shape[0])


def _setup_normal_consistency(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


normal_consistency_op.register_autograd(
    lambda ctx, grad: (normal_consistency_backward_op(*ctx.saved_tensors, grad), None),
    setup_context=_setup_normal_consistency,
)
