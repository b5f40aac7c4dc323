"""Closest points on triangles and segments, vectorised in PyTorch (any device).

The same geometry as the native kernels (csrc/point_mesh/point_mesh.h) and as PyTorch3D's
point_mesh distances: a triangle whose area is at least ``min_area`` and onto whose plane the
point projects inside it is at the distance of that projection; otherwise (a point beyond an edge
or a vertex, or a triangle smaller than ``min_area``) the distance is the smallest distance to its
three edges. A segment shorter than ``sqrt(SEGMENT_EPS)`` counts as its first corner.
"""

from __future__ import annotations

import torch

from r3d.transforms.math import cross

SEGMENT_EPS = 1e-8  # squared length below which a segment is a point
NORMAL_EPS = 1e-8  # |n| below which a triangle has no plane

# corner weights of the closest point on edge e of a triangle, as (1 - t) * _EDGE_A + t * _EDGE_B:
# edges (v0, v1), (v0, v2), (v1, v2)
_EDGE_A = ((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
_EDGE_B = ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 1.0))


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1)


def closest_on_segments(
    p: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closest point of segments (a, b) to points p (broadcast shapes (..., 3)).

    Returns:
        t (...): position of the closest point a + t (b - a), in [0, 1];
        dist (...): its squared distance to p.
    """
    d = b - a
    ap = p - a
    len2 = _dot(d, d)
    t = (_dot(ap, d) / len2.clamp(min=SEGMENT_EPS)).clamp(0, 1)
    t = torch.where(len2 < SEGMENT_EPS, torch.zeros_like(t), t)
    r = ap - d * t.unsqueeze(-1)
    return t, _dot(r, r)


def _closest_on_triangles(
    p: torch.Tensor, tris: torch.Tensor, min_area: float
) -> tuple[torch.Tensor, torch.Tensor]:
    v0, v1, v2 = tris.unbind(-2)
    e1, e2, vp = v1 - v0, v2 - v0, p - v0
    n = cross(e1, e2)
    n2 = _dot(n, n)  # (2 area)^2
    has_plane = (n2 > NORMAL_EPS**2) & (n2 >= 4 * min_area**2)
    safe_n2 = torch.where(has_plane, n2, torch.ones_like(n2))
    d11, d12, d22 = _dot(e1, e1), _dot(e1, e2), _dot(e2, e2)
    p1, p2 = _dot(vp, e1), _dot(vp, e2)
    b1 = (d22 * p1 - d12 * p2) / safe_n2
    b2 = (d11 * p2 - d12 * p1) / safe_n2
    bary = torch.stack([1 - b1 - b2, b1, b2], -1)
    inside = has_plane & ((bary >= 0) & (bary <= 1)).all(-1)

    t01, d01 = closest_on_segments(p, v0, v1)
    t02, d02 = closest_on_segments(p, v0, v2)
    t12, d12 = closest_on_segments(p, v1, v2)
    edge_dist, edge = torch.stack([d01, d02, d12], -1).min(-1)  # first edge on ties
    t = torch.stack([t01, t02, t12], -1).gather(-1, edge.unsqueeze(-1))
    corners_a = p.new_tensor(_EDGE_A)[edge]
    corners_b = p.new_tensor(_EDGE_B)[edge]
    edge_w = (1 - t) * corners_a + t * corners_b

    # |p - c|^2 for the projection c as a convex combination of the corners (as the native
    # kernel): the distance of a point of the triangle even where a sliver's barycentric
    # coordinates are all rounding
    off_plane = p - (bary.unsqueeze(-1) * tris).sum(-2)
    plane_dist = _dot(off_plane, off_plane)
    weights = torch.where(inside.unsqueeze(-1), bary, edge_w)
    return weights, torch.where(inside, plane_dist, edge_dist)


def closest_point_weights(
    p: torch.Tensor, prims: torch.Tensor, min_area: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closest point of each primitive to each point, as weights of the primitive's corners.

    Args:
        p: (..., 3) points.
        prims: (..., K, 3) triangles (K = 3) or segments (K = 2), broadcasting with p.
        min_area: triangles of smaller area count as their three edges.
    Returns:
        weights (..., K): the closest point is ``(weights[..., None] * prims).sum(-2)``;
        dist (...): its squared distance to p.
    """
    if prims.shape[-2] == 3:
        return _closest_on_triangles(p, prims, min_area)
    t, dist = closest_on_segments(p, prims[..., 0, :], prims[..., 1, :])
    return torch.stack([1 - t, t], -1), dist
