"""Unit spheres made by subdividing an icosahedron, vertex for vertex PyTorch3D's."""

from __future__ import annotations

import math

import torch

from r3d.errors import InputError
from r3d.structures.meshes import Meshes

__all__ = ["ico_sphere"]

# (verts (V, 3) float32, faces (F, 3) int64) on the CPU for each level built so far
_CACHE: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

# The 20 faces of the classic icosphere construction's icosahedron (PyTorch3D's ico_sphere
# starts from it), counter-clockwise from outside over the vertices of _icosahedron: the 5
# faces around vertex 0, the 5 next to them, the 5 around vertex 3, the 5 next to those.
_FACES0 = (
    (0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11),
    (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6), (7, 1, 8),
    (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9),
    (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1),
)


def _icosahedron() -> tuple[torch.Tensor, torch.Tensor]:
    """(12, 3) float32 verts and (20, 3) faces: the cyclic permutations of (+-a, +-b, 0) in
    the classic construction's order, with a = 1 / |(1, phi)| and b = phi / |(1, phi)| rounded
    to 4 decimals (0.5257, 0.8507) as PyTorch3D stores them, so that the level-0 vertices lie
    2e-5 off the unit sphere (later levels are normalised)."""
    phi = (1 + math.sqrt(5)) / 2
    a, b = round(1 / math.hypot(1, phi), 4), round(phi / math.hypot(1, phi), 4)
    verts = (
        (-a, b, 0), (a, b, 0), (-a, -b, 0), (a, -b, 0),
        (0, -a, b), (0, a, b), (0, -a, -b), (0, a, -b),
        (b, 0, -a), (b, 0, a), (-b, 0, -a), (-b, 0, a),
    )
    return torch.tensor(verts, dtype=torch.float32), torch.tensor(_FACES0, dtype=torch.int64)


def _subdivide(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits every face into 4 at its edge midpoints and scales every vertex to unit length.

    The new vertices are appended after the old ones, one per edge in Meshes.edges_packed
    order; the new faces are the (v0, m01, m20) of every face, then every (v1, m12, m01), every
    (v2, m20, m12) and every (m12, m20, m01): SubdivideMeshes' layout (r3d.ops, which this
    layer cannot import) and PyTorch3D's.
    """
    mesh = Meshes(verts=[verts], faces=[faces])
    mid = verts[mesh.edges_packed()].mean(dim=1)
    new_verts = torch.cat([verts, mid], 0)
    # column k of e is the midpoint of the edge opposite corner k
    e = mesh.faces_packed_to_edges_packed() + verts.shape[0]
    v0, v1, v2 = faces.unbind(1)
    m12, m20, m01 = e.unbind(1)
    new_faces = torch.cat(
        [
            torch.stack([v0, m01, m20], 1),
            torch.stack([v1, m12, m01], 1),
            torch.stack([v2, m20, m12], 1),
            torch.stack([m12, m20, m01], 1),
        ],
        0,
    )
    return new_verts / new_verts.norm(dim=1, keepdim=True), new_faces


def _level(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    if level not in _CACHE:
        _CACHE[level] = _icosahedron() if level == 0 else _subdivide(*_level(level - 1))
    return _CACHE[level]


def ico_sphere(level: int = 0, device: torch.device | str | None = None) -> Meshes:
    """A unit sphere: an icosahedron whose faces are split in 4 ``level`` times, with
    PyTorch3D's vertices, faces and order.

    Args:
        level: number of subdivisions (0 gives the icosahedron itself).
        device: where to put the mesh (CPU when None).
    Returns:
        Meshes of one mesh with V = 10 * 4**level + 2 vertices on the unit sphere (level 0:
        within 2e-5 of it) and F = 20 * 4**level faces, counter-clockwise seen from outside
        (normals point outward). Each subdivision appends the edge midpoints (in
        ``edges_packed`` order) to the vertices, then scales every vertex to unit length in
        float32. Built once per level and cached; each call returns fresh tensors.
    """
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise InputError(f"ico_sphere: level must be a non-negative int, got {level!r}")
    verts, faces = _level(level)
    device = torch.device("cpu") if device is None else torch.device(device)
    return Meshes(verts=[verts.to(device, copy=True)], faces=[faces.to(device, copy=True)])
