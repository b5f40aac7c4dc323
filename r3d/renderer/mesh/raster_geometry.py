"""Pixel-face geometry of the mesh rasteriser, vectorised: the pure-PyTorch twin of the pair
test in ``csrc/rasterize_meshes/rasterize_meshes.h`` (same formulas, same order of operations).

Conventions (PyTorch3D's): pixel (0, 0) is the top-left one; NDC +x points left and +y up; the
shorter image side spans [-1, 1], so column x has NDC centre (W - 2x - 1) / min(H, W) and row y
has (H - 2y - 1) / min(H, W).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

# Faces with |2 * area| at most this are degenerate; corners at depths below it are behind the
# camera. Also the relative threshold of the perspective-correction denominator.
RASTER_EPS = 1e-8
# Lower bound of the sum of clipped barycentrics before they are renormalised.
CLIP_SUM_MIN = 1e-5


class RasterParams(NamedTuple):
    """Validated settings of one rasterisation."""

    image_size: tuple[int, int]  # (H, W)
    blur_radius: float  # squared NDC distance within which a pixel outside a face hits it
    faces_per_pixel: int
    perspective_correct: bool
    clip_barycentric_coords: bool
    cull_backfaces: bool

    def native_settings(self, num_meshes: int) -> tuple:
        """The settings tuple of the native launchers (see ``r3d._ext``)."""
        H, W = self.image_size
        return (
            num_meshes, H, W, self.faces_per_pixel, float(self.blur_radius),
            bool(self.perspective_correct), bool(self.clip_barycentric_coords),
            bool(self.cull_backfaces),
        )


class PixelFaceTerms(NamedTuple):
    """Per (pixel, face) pair: zbuf (C,), bary (C, 3) output barycentrics, dists (C,) signed
    squared distance, hit (C,) bool (whether the pair is a fragment)."""

    zbuf: torch.Tensor
    bary: torch.Tensor
    dists: torch.Tensor
    hit: torch.Tensor


def pixel_centres(size: int, min_side: int, dtype: torch.dtype, device) -> torch.Tensor:
    """(size,) NDC centres of the pixels along a side of ``size`` pixels (flipped: index 0 is
    at the +1 end), computed in float64 and rounded once to ``dtype`` like the native kernel."""
    i = torch.arange(size, dtype=torch.float64, device=device)
    return ((size - 2 * i - 1) / min_side).to(dtype)


def _edge_fn(px, py, ax, ay, bx, by):
    return (px - ax) * (by - ay) - (py - ay) * (bx - ax)


def face_area2(face_verts: torch.Tensor) -> torch.Tensor:
    """(...,) twice the signed screen area of faces (..., 3, 3); negative seen from the back."""
    v = face_verts
    return _edge_fn(v[..., 2, 0], v[..., 2, 1], v[..., 0, 0], v[..., 0, 1], v[..., 1, 0],
                    v[..., 1, 1])


def visible_faces(face_verts: torch.Tensor, cull_backfaces: bool) -> torch.Tensor:
    """(F,) bool: the faces (F, 3, 3) that can hit a pixel: not degenerate, not culled as back
    faces, every corner in front of the camera."""
    area = face_area2(face_verts)
    ok = area.abs() > RASTER_EPS
    if cull_backfaces:
        ok &= area >= 0
    return ok & (face_verts[:, :, 2].amin(dim=1) >= RASTER_EPS)


def _segment_dist2(px, py, ax, ay, bx, by):
    """Squared distance from p to the segment a -> b (to b when the segment is degenerate)."""
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    degenerate = l2 <= RASTER_EPS
    t = (dx * (px - ax) + dy * (py - ay)) / torch.where(degenerate, torch.ones_like(l2), l2)
    t = torch.where(degenerate, torch.ones_like(t), t.clamp(0, 1))
    ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    near = ex * ex + ey * ey
    ex, ey = px - bx, py - by
    return torch.where(degenerate, ex * ex + ey * ey, near)


def pixel_face_terms(
    face_verts: torch.Tensor, px: torch.Tensor, py: torch.Tensor, params: RasterParams
) -> PixelFaceTerms:
    """Evaluates C (pixel, face) pairs of visible faces.

    Args:
        face_verts: (C, 3, 3) corners of each pair's face (differentiable).
        px, py: (C,) NDC centre of each pair's pixel.
        params: the rasterisation settings.
    Returns:
        PixelFaceTerms of the pairs; values where hit is False are meaningless but finite.
    """
    v = face_verts
    x0, y0, z0 = v[:, 0].unbind(-1)
    x1, y1, z1 = v[:, 1].unbind(-1)
    x2, y2, z2 = v[:, 2].unbind(-1)
    area = face_area2(v)
    w = torch.stack(
        [_edge_fn(px, py, x1, y1, x2, y2), _edge_fn(px, py, x2, y2, x0, y0),
         _edge_fn(px, py, x0, y0, x1, y1)], dim=-1,
    ) / area[:, None]
    valid = torch.ones_like(area, dtype=torch.bool)
    if params.perspective_correct:
        t = torch.stack([w[:, 0] * z1 * z2, w[:, 1] * z0 * z2, w[:, 2] * z0 * z1], dim=-1)
        denom = t[:, 0] + t[:, 1] + t[:, 2]
        mag = t[:, 0].abs() + t[:, 1].abs() + t[:, 2].abs()
        valid = denom > RASTER_EPS * mag
        w = torch.where(valid[:, None], t / torch.where(valid, denom, 1.0)[:, None], 0.0)
    inside = (w > 0).all(dim=-1)
    if params.clip_barycentric_coords:
        m = w.clamp(min=0)
        total = (m[:, 0] + m[:, 1] + m[:, 2]).clamp(min=CLIP_SUM_MIN)
        w = m / total[:, None]
    zbuf = w[:, 0] * z0 + w[:, 1] * z1 + w[:, 2] * z2
    d = torch.stack(
        [_segment_dist2(px, py, x0, y0, x1, y1), _segment_dist2(px, py, x1, y1, x2, y2),
         _segment_dist2(px, py, x2, y2, x0, y0)], dim=-1,
    )
    nearest = d.detach().argmin(dim=-1, keepdim=True)
    d = d.gather(-1, nearest)[:, 0]
    hit = valid & (zbuf >= 0) & (inside | (d < params.blur_radius))
    dists = torch.where(inside, -d, d)
    return PixelFaceTerms(zbuf, w, dists, hit.detach())
