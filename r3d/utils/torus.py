"""Torus meshes."""

from __future__ import annotations

import math

import torch

from r3d.errors import InputError
from r3d.structures.meshes import Meshes

__all__ = ["torus"]


def torus(
    r: float, R: float, sides: int, rings: int, device: torch.device | str | None = None
) -> Meshes:
    """A torus around the z axis with faces counter-clockwise seen from outside.

    Vertex ``i * sides + j`` is at ring angle phi = 2 pi i / rings and tube angle
    theta = 2 pi j / sides: ((R + r cos theta) cos phi, (R + r cos theta) sin phi, r sin theta).

    Args:
        r: tube radius. R: distance from the centre to the middle of the tube.
        sides: vertices around the tube (at least 3). rings: vertices around the axis (>= 3).
        device: where to put the mesh (CPU when None).
    Returns:
        Meshes of one mesh with rings * sides vertices and 2 * rings * sides faces.
    """
    for name, n in (("sides", sides), ("rings", rings)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 3:
            raise InputError(f"torus: {name} must be an int >= 3, got {n!r}")
    for name, x in (("r", r), ("R", R)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise InputError(f"torus: {name} must be a finite number, got {x!r}")
    device = torch.device("cpu") if device is None else torch.device(device)
    phi = torch.arange(rings, dtype=torch.float64) * (2 * math.pi / rings)
    theta = torch.arange(sides, dtype=torch.float64) * (2 * math.pi / sides)
    phi, theta = phi[:, None], theta[None, :]
    ring = R + r * torch.cos(theta)  # (rings, sides) after broadcasting below
    x, y = ring * torch.cos(phi), ring * torch.sin(phi)
    z = (r * torch.sin(theta)).expand_as(x)
    verts = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
    i0 = torch.arange(rings)[:, None]
    j0 = torch.arange(sides)[None, :]
    i1, j1 = (i0 + 1) % rings, (j0 + 1) % sides
    a, b = i0 * sides + j0, i1 * sides + j0  # (i, j), (i + 1, j)
    c, d = i1 * sides + j1, i0 * sides + j1  # (i + 1, j + 1), (i, j + 1)
    # d/dphi x d/dtheta points out of the tube, so (i,j) -> (i+1,j) -> (i+1,j+1) is outward
    faces = torch.cat(
        [torch.stack([a, b, c], -1).reshape(-1, 3), torch.stack([c, d, a], -1).reshape(-1, 3)], 0
    )
    return Meshes(verts=[verts.float().to(device)], faces=[faces.to(device)])
