"""Laplacian matrices of meshes and graphs, as sparse (V, V) tensors (PyTorch3D's definitions)."""

from __future__ import annotations

import torch

from r3d._checks import check_index_rows, check_same_device, describe
from r3d.errors import InputError


def check_verts_index(
    op: str, verts: torch.Tensor, name: str, t: torch.Tensor, width: int
) -> torch.Tensor:
    """``t`` after checking that verts is a float (V, 3) tensor and ``t`` (K, width) int64
    indices into it, on verts' device (InputError otherwise)."""
    if not isinstance(verts, torch.Tensor) or not verts.is_floating_point() or verts.dim() != 2 \
            or verts.shape[1] != 3:
        raise InputError(f"{op}: verts must be a float tensor of shape (V, 3), got "
                         f"{describe(verts)}")
    check_same_device(op, verts=verts, **{name: t})
    return check_index_rows(op, name, t, width, verts.shape[0])


def _symmetric(idx: torch.Tensor, values: torch.Tensor, num_verts: int) -> torch.Tensor:
    """Sparse (V, V) with ``values`` at ``idx`` (2, K) and at its transpose (duplicates add)."""
    return torch.sparse_coo_tensor(
        torch.cat([idx, idx.flip(0)], 1), torch.cat([values, values]), (num_verts, num_verts),
        check_invariants=False,  # the indices were checked
    ).coalesce()


def laplacian(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Uniform graph Laplacian.

    ``L[i, j] = 1 / deg(i)`` for every edge (i, j) (either direction), ``L[i, i] = -1`` (also
    for isolated vertices), 0 elsewhere, so ``(L @ verts)[i]`` is the mean of i's neighbours
    minus v_i.

    Args:
        verts: (V, 3) float; only its size, dtype and device are used.
        edges: (E, 2) int64 in [0, V), each undirected edge once.
    Returns:
        (V, V) sparse COO tensor of verts' dtype, coalesced.
    """
    edges = check_verts_index("laplacian", verts, "edges", edges, 2)
    num_verts = verts.shape[0]
    idx = torch.cat([edges, edges.flip(1)], 0).t()
    deg = torch.bincount(idx[0], minlength=num_verts).to(verts.dtype)
    diag = torch.arange(num_verts, device=verts.device).expand(2, num_verts)
    return torch.sparse_coo_tensor(
        torch.cat([idx, diag], 1),
        torch.cat([1.0 / deg[idx[0]], -torch.ones_like(deg)]),
        (num_verts, num_verts),
        check_invariants=False,  # the indices were checked
    ).coalesce()


def cot_laplacian(
    verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cotangent Laplacian and the inverse areas around each vertex.

    ``L[i, j] = cot a_ij + cot b_ij`` for every edge (i, j), where a_ij and b_ij are the angles
    opposite the edge in its two faces (one term per face, any number of faces); no diagonal.
    Face areas come from Heron's formula with the squared area clamped to at least ``eps``.

    Args:
        verts: (V, 3) float vertex positions.
        faces: (F, 3) int64 in [0, V).
        eps: lower bound of the squared face areas.
    Returns:
        L: (V, V) sparse COO tensor, coalesced, differentiable w.r.t. verts;
        inv_areas: (V, 1), 1 / (sum of the areas of the faces around each vertex), 0 for
        vertices in no face.
    """
    faces = check_verts_index("cot_laplacian", verts, "faces", faces, 3)
    num_verts = verts.shape[0]
    v0, v1, v2 = verts[faces].unbind(1)
    # side lengths opposite corners 0, 1, 2
    a, b, c = (v1 - v2).norm(dim=1), (v0 - v2).norm(dim=1), (v0 - v1).norm(dim=1)
    s = (a + b + c) / 2
    area = (s * (s - a) * (s - b) * (s - c)).clamp(min=eps).sqrt()
    a2, b2, c2 = a * a, b * b, c * c
    # cot of the angle at corner k = (sum of its sides squared - opposite side squared) / 4 area
    cot = torch.stack([b2 + c2 - a2, a2 + c2 - b2, a2 + b2 - c2], dim=1) / (4 * area[:, None])
    # the angle at corner k is opposite the edge (k + 1, k + 2)
    idx = torch.stack([faces[:, [1, 2, 0]], faces[:, [2, 0, 1]]], 0).reshape(2, -1)
    L = _symmetric(idx, cot.reshape(-1), num_verts)
    areas = torch.zeros(num_verts, dtype=verts.dtype, device=verts.device)
    areas = areas.index_add(0, faces.reshape(-1), area.repeat_interleave(3))
    inv_areas = torch.where(areas > 0, 1.0 / areas, areas)
    return L, inv_areas[:, None]


def norm_laplacian(verts: torch.Tensor, edges: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Inverse-distance weighted adjacency.

    ``L[i, j] = L[j, i] = 1 / (|v_i - v_j| + eps)`` for every edge (i, j); no diagonal.

    Args:
        verts: (V, 3) float vertex positions.
        edges: (E, 2) int64 in [0, V), each undirected edge once.
        eps: added to the distances.
    Returns:
        (V, V) sparse COO tensor, coalesced, differentiable w.r.t. verts.
    """
    edges = check_verts_index("norm_laplacian", verts, "edges", edges, 2)
    return norm_laplacian_unchecked(verts, edges, eps)


def norm_laplacian_unchecked(verts: torch.Tensor, edges: torch.Tensor, eps: float) -> torch.Tensor:
    """:func:`norm_laplacian` of inputs already checked (for loops over the same edges)."""
    v0, v1 = verts[edges].unbind(1)
    return _symmetric(edges.t(), 1.0 / ((v0 - v1).norm(dim=1) + eps), verts.shape[0])
