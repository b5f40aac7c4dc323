"""Mesh smoothing filters."""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.structures import Meshes
from r3d.structures.laplacian_matrices import norm_laplacian_unchecked


def taubin_smoothing(
    meshes: Meshes, lambd: float = 0.53, mu: float = -0.53, num_iter: int = 10
) -> Meshes:
    """Taubin's smoothing without shrinkage ("Curve and surface smoothing without shrinkage",
    ICCV 1995), with PyTorch3D's weights.

    Each iteration moves every vertex towards the inverse-distance weighted mean m(v) of its
    neighbours (weights from :func:`~r3d.structures.laplacian_matrices.norm_laplacian`) twice:
    ``v <- v + lambd (m(v) - v)``, then ``v <- v + mu (m(v) - v)``. Vertices with no neighbour
    stay where they are (PyTorch3D turns them into NaN).

    Args:
        meshes: N meshes.
        lambd: the shrinking step, > 0.
        mu: the inflating step, < 0 (|mu| >= lambd keeps the volume).
        num_iter: iterations, >= 0.
    Returns:
        New Meshes with the smoothed vertices and the same faces (and textures), differentiable
        w.r.t. the input vertices.
    """
    op = "taubin_smoothing"
    if not isinstance(meshes, Meshes):
        raise InputError(f"{op}: meshes must be an r3d Meshes, got {type(meshes).__name__}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 0:
        raise InputError(f"{op}: num_iter must be an int >= 0, got {num_iter!r}")
    verts = meshes.verts_packed()
    edges = meshes.edges_packed()
    for _ in range(num_iter):
        for step in (lambd, mu):
            L = norm_laplacian_unchecked(verts, edges, 1e-12)
            total = torch.sparse.sum(L, dim=1).to_dense()[:, None]
            lone = total == 0  # no neighbour: stays (a safe divisor keeps gradients finite)
            mean = torch.where(lone, verts, torch.sparse.mm(L, verts) / total.masked_fill(lone, 1))
            verts = verts + step * (mean - verts)
    return Meshes(
        list(verts.split(meshes.num_verts_per_mesh().tolist())),
        meshes.faces_list(),
        meshes.textures,
    )
