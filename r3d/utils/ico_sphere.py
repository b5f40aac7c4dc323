"""Unit spheres made by subdividing an icosahedron."""

from __future__ import annotations

import itertools
import math

import torch

from r3d.errors import InputError
from r3d.structures.meshes import Meshes

__all__ = ["ico_sphere"]

# (verts (V, 3) float32, faces (F, 3) int64) on the CPU for each level built so far
_CACHE: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def _icosahedron() -> tuple[torch.Tensor, torch.Tensor]:
    """Regular icosahedron on the unit sphere: (12, 3) float64 verts, (20, 3) outward faces."""
    phi = (1 + math.sqrt(5)) / 2
    verts = []
    # the 12 vertices are the cyclic permutations of (0, +-1, +-phi)
    for a, b in itertools.product((-1.0, 1.0), repeat=2):
        verts += [(a, b * phi, 0.0), (0.0, a, b * phi), (b * phi, 0.0, a)]
    v = torch.tensor(verts, dtype=torch.float64)
    # faces are the triples of mutually adjacent vertices (edge length 2 before scaling)
    d = torch.cdist(v, v)
    adjacent = (d - 2).abs() < 1e-6
    faces = []
    for i, j, k in itertools.combinations(range(12), 3):
        if adjacent[i, j] and adjacent[j, k] and adjacent[i, k]:
            n = torch.linalg.cross(v[j] - v[i], v[k] - v[i])
            faces.append((i, j, k) if float(n @ (v[i] + v[j] + v[k])) > 0 else (i, k, j))
    v = v / v.norm(dim=1, keepdim=True)
    return v, torch.tensor(faces, dtype=torch.int64)


def _subdivide(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Splits every face into 4 at its edge midpoints, projected back onto the unit sphere.

    New vertices are appended after the old ones, one per edge in Meshes.edges_packed order.
    """
    mesh = Meshes(verts=[verts], faces=[faces])
    edges = mesh.edges_packed()
    mid = verts[edges].mean(dim=1)
    new_verts = torch.cat([verts, mid / mid.norm(dim=1, keepdim=True)], 0)
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
    return new_verts, new_faces


def _level(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    if level not in _CACHE:
        if level == 0:
            v, f = _icosahedron()
        else:
            v, f = _level(level - 1)
            v, f = _subdivide(v.double(), f)
        _CACHE[level] = (v.float(), f)
    return _CACHE[level]


def ico_sphere(level: int = 0, device: torch.device | str | None = None) -> Meshes:
    """A unit sphere: an icosahedron whose faces are split in 4 ``level`` times.

    Args:
        level: number of subdivisions (0 gives the icosahedron itself).
        device: where to put the mesh (CPU when None).
    Returns:
        Meshes of one mesh with V = 10 * 4**level + 2 vertices on the unit sphere and
        F = 20 * 4**level faces, counter-clockwise seen from outside (normals point outward).
        Built once per level and cached; each call returns fresh tensors.
    """
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise InputError(f"ico_sphere: level must be a non-negative int, got {level!r}")
    verts, faces = _level(level)
    device = torch.device("cpu") if device is None else torch.device(device)
    return Meshes(verts=[verts.to(device, copy=True)], faces=[faces.to(device, copy=True)])
