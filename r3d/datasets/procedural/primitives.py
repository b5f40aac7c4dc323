"""Closed primitive surfaces that the shape families are built from: boxes, capped cylinders
and truncated cones, superquadrics, tori, and rotating a part's vertices.

Each primitive returns float64 verts (V, 3) and int64 faces (F, 3) of a closed surface,
counter-clockwise seen from outside. Vertices are duplicated along sharp edges (box edges,
cylinder rims) so that the meshes' vertex normals keep those edges sharp under Phong shading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from r3d.errors import InputError
from r3d.transforms.rotation_conversions import axis_angle_to_matrix
from r3d.utils import torus


def box(size: Sequence[float], center: Sequence[float] = (0.0, 0.0, 0.0)
        ) -> tuple[torch.Tensor, torch.Tensor]:
    """An axis-aligned box of ``size`` (sx, sy, sz) centred at ``center``: 24 verts (4 per
    side), 12 faces."""
    half = torch.tensor(size, dtype=torch.float64) / 2
    c = torch.tensor(center, dtype=torch.float64)
    verts, faces = [], []
    for axis in range(3):
        for sign in (1.0, -1.0):
            # e_u x e_v = sign e_axis, so (-,-), (+,-), (+,+), (-,+) turns counter-clockwise
            u, v = (axis + 1) % 3, (axis + 2) % 3
            if sign < 0:
                u, v = v, u
            base = len(verts)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = c.clone()
                p[axis] += sign * half[axis]
                p[u] += su * half[u]
                p[v] += sv * half[v]
                verts.append(p)
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return torch.stack(verts), torch.tensor(faces, dtype=torch.int64)


def cylinder(radius_bottom: float, radius_top: float, height: float, segments: int = 24,
             center: Sequence[float] = (0.0, 0.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """A closed cylinder along +y (a truncated cone when the radii differ), centred at
    ``center``: side rings and caps (each a fan around its centre vertex) have their own
    vertices, 4 segments + 2 in all, and 4 segments faces."""
    n = segments
    theta = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    c = torch.tensor(center, dtype=torch.float64)

    def ring(r: float, y: float) -> torch.Tensor:
        # x = r sin(theta), z = r cos(theta): the angle turns from +z towards +x
        return torch.stack([r * torch.sin(theta), torch.full_like(theta, y),
                            r * torch.cos(theta)], 1) + c

    y0, y1 = -height / 2, height / 2
    verts = torch.cat([ring(radius_bottom, y0), ring(radius_top, y1),  # side: 0..n-1, n..2n-1
                       ring(radius_bottom, y0), ring(radius_top, y1),  # caps: 2n.., 3n..
                       c + torch.tensor([[0.0, y0, 0.0], [0.0, y1, 0.0]], dtype=torch.float64)])
    j = torch.arange(n)
    k = (j + 1) % n
    bottom_centre, top_centre = 4 * n, 4 * n + 1
    faces = torch.cat([
        torch.stack([j, k, n + k], 1), torch.stack([j, n + k, n + j], 1),  # side, outward
        torch.stack([torch.full_like(j, top_centre), 3 * n + j, 3 * n + k], 1),  # +y
        torch.stack([torch.full_like(j, bottom_centre), 2 * n + k, 2 * n + j], 1),  # -y
    ])
    return verts, faces


def _signed_power(x: torch.Tensor, e: float) -> torch.Tensor:
    return torch.sign(x) * x.abs() ** e


def superquadric(radii: Sequence[float], e1: float, e2: float, rings: int = 16,
                 segments: int = 24, center: Sequence[float] = (0.0, 0.0, 0.0)
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A superquadric (superellipsoid) with poles on the y axis, as a UV-sphere-like grid.

    The point at latitude eta in [-pi/2, pi/2] and longitude omega in [0, 2 pi) is
    (rx c(eta)^e1 c(omega)^e2, ry s(eta)^e1, rz c(eta)^e1 s(omega)^e2), where c and s are cos
    and sin and x^e = sign(x) |x|^e: e1 shapes the profile along y and e2 the cross-section
    (1: round, -> 0: square, 2: diamond). Watertight: one vertex per pole and shared seams.

    Args:
        radii: (rx, ry, rz) semi-axes. e1, e2: positive exponents.
        rings: latitude bands (>= 2); segments: longitude steps (>= 3).
        center: where the centre goes.
    Returns:
        verts (2 + (rings - 1) segments, 3) float64 and faces (2 (rings - 1) segments, 3) int64,
        counter-clockwise seen from outside.
    """
    if rings < 2 or segments < 3 or not (e1 > 0 and e2 > 0):
        raise InputError(f"superquadric: needs rings >= 2, segments >= 3 and exponents > 0, got "
                         f"rings={rings}, segments={segments}, e1={e1}, e2={e2}")
    rx, ry, rz = (float(r) for r in radii)
    eta = -math.pi / 2 + torch.arange(1, rings, dtype=torch.float64) * (math.pi / rings)
    omega = torch.arange(segments, dtype=torch.float64) * (2 * math.pi / segments)
    ce, se = _signed_power(torch.cos(eta), e1)[:, None], _signed_power(torch.sin(eta), e1)[:, None]
    co, so = _signed_power(torch.cos(omega), e2)[None], _signed_power(torch.sin(omega), e2)[None]
    grid = torch.stack([rx * ce * co, (ry * se).expand(-1, segments), rz * ce * so], -1)
    c = torch.tensor(center, dtype=torch.float64)
    verts = torch.cat([torch.tensor([[0.0, -ry, 0.0]], dtype=torch.float64), grid.reshape(-1, 3),
                       torch.tensor([[0.0, ry, 0.0]], dtype=torch.float64)]) + c
    top = verts.shape[0] - 1
    j = torch.arange(segments)
    k = (j + 1) % segments
    # d/d(eta) x d/d(omega) points outwards: (i, j) -> (i + 1, j) -> (i + 1, j + 1) turns
    # counter-clockwise seen from outside
    faces = [torch.stack([torch.zeros_like(j), 1 + j, 1 + k], 1)]  # bottom fan
    for i in range(rings - 2):
        a, b = 1 + i * segments + j, 1 + (i + 1) * segments + j
        c_, d = 1 + (i + 1) * segments + k, 1 + i * segments + k
        faces += [torch.stack([a, b, c_], 1), torch.stack([a, c_, d], 1)]
    last = 1 + (rings - 2) * segments
    faces.append(torch.stack([last + j, torch.full_like(j, top), last + k], 1))  # top fan
    return verts, torch.cat(faces)


def torus_surface(tube: float, radius: float, center: Sequence[float]
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """r3d.utils.torus (around the z axis) moved to ``center``, as float64."""
    mesh = torus(tube, radius, sides=12, rings=28)
    return mesh.verts_packed().double() + torch.tensor(center, dtype=torch.float64), \
        mesh.faces_packed()


def rotated(verts: torch.Tensor, axis_angle: Sequence[float],
             pivot: Sequence[float] = (0.0, 0.0, 0.0)) -> torch.Tensor:
    """``verts`` (V, 3) rotated about ``pivot`` by an axis-angle (radians); winding is kept."""
    m = axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64))
    p = torch.tensor(pivot, dtype=torch.float64)
    return (verts - p) @ m.T + p
