"""Laplacian smoothing regulariser of meshes (PyTorch3D's ``mesh_laplacian_smoothing``)."""

from __future__ import annotations

import torch

from r3d._native import use_native
from r3d.errors import InputError
from r3d.loss._mesh_batch import check_meshes, empty_loss, per_item_mean
from r3d.ops.graph_conv import gather_scatter_native, neighbour_csr
from r3d.structures import Meshes
from r3d.structures.laplacian_matrices import cot_laplacian

METHODS = ("uniform", "cot", "cotcurv")


def mesh_laplacian_smoothing(meshes: Meshes, method: str = "uniform") -> torch.Tensor:
    """Mean norm of a Laplacian of the vertex positions.

    With ``L v[i] = sum_j w_ij (v_j - v_i)`` over the neighbours j of vertex i:

    - "uniform": ``w_ij = 1 / deg(i)`` (a vertex in no edge gives ``-v_i``);
    - "cot": ``w_ij = (cot a_ij + cot b_ij) / sum_k (cot a_ik + cot b_ik)``;
    - "cotcurv": ``w_ij = (cot a_ij + cot b_ij) / (4 A_i)``, A_i the summed area of the faces
      around vertex i (a discrete mean curvature normal).

    The weights are constants (no gradient flows through them, as in PyTorch3D). Every vertex
    contributes ``|L v[i]|`` weighted by 1 / (vertices of its mesh); the sum is divided by N.

    Args:
        meshes: N meshes.
        method: "uniform", "cot" or "cotcurv".
    Returns:
        () tensor, differentiable w.r.t. the vertices; 0 when no mesh has a face.
    """
    return _laplacian_smoothing(meshes, method, native=True)


def mesh_laplacian_smoothing_torch(meshes: Meshes, method: str = "uniform") -> torch.Tensor:
    """Pure-PyTorch :func:`mesh_laplacian_smoothing` (any device; the oracle)."""
    return _laplacian_smoothing(meshes, method, native=False)


def _laplacian_smoothing(meshes: Meshes, method: str, native: bool) -> torch.Tensor:
    op = "mesh_laplacian_smoothing"
    check_meshes(op, meshes)
    if method not in METHODS:
        raise InputError(f"{op}: method must be one of {METHODS}, got {method!r}")
    if meshes.isempty():
        return empty_loss(meshes)
    verts = meshes.verts_packed()
    if method == "uniform":
        if native and use_native(verts, op):
            lap = _uniform_laplacian_native(verts, meshes.edges_packed())
        else:
            lap = meshes.laplacian_packed().mm(verts)
    else:
        with torch.no_grad():
            L, inv_areas = cot_laplacian(verts, meshes.faces_packed())
            row_sums = torch.sparse.sum(L, dim=1).to_dense()[:, None]
        if method == "cot":
            scale = torch.where(row_sums > 0, 1.0 / row_sums, row_sums)
            lap = L.mm(verts) * scale - verts
        else:
            lap = (L.mm(verts) - row_sums * verts) * (0.25 * inv_areas)
    return per_item_mean(lap.norm(dim=1), meshes.verts_packed_to_mesh_idx(), len(meshes))


def _uniform_laplacian_native(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """``laplacian(verts, edges) @ verts`` as a native neighbour sum divided by the degrees."""
    csr = neighbour_csr(edges, verts.shape[0], directed=False)
    degrees = csr[0].diff().clamp(min=1).to(verts.dtype)[:, None]
    return gather_scatter_native(verts, edges, False, csr) / degrees - verts
