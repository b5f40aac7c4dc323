"""Pixel-face geometry of the mesh rasteriser, vectorised: the pure-PyTorch twin of the pair
test in ``csrc/rasterize_meshes/rasterize_meshes.h`` (same formulas, same order of operations);
and the screen helpers the pure-PyTorch mesh and point rasterisers share: pixel centres, the
pixels an NDC interval may reach, and the selection of each pixel's K nearest hits.

Conventions (PyTorch3D's): pixel (0, 0) is the top-left one; NDC +x points left and +y up; the
shorter image side spans [-1, 1], so column x has NDC centre (W - 2x - 1) / min(H, W) and row y
has (H - 2y - 1) / min(H, W).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

# Faces with |2 * area| at most this are degenerate; corners at depths below it are behind the
# camera. Also the relative threshold of the perspective-correction denominator.
RASTER_EPS = 1e-8
# Lower bound of the sum of clipped barycentrics before they are renormalised.
CLIP_SUM_MIN = 1e-5
# (pixel, element) pairs evaluated at once by select_nearest.
_CHUNK_PAIRS = 1 << 18


class RasterParams(NamedTuple):
    """Validated settings of one rasterisation."""

    image_size: tuple[int, int]  # (H, W)
    blur_radius: float  # squared NDC distance within which a pixel outside a face hits it
    faces_per_pixel: int
    perspective_correct: bool
    clip_barycentric_coords: bool
    cull_backfaces: bool

    def native_settings(self, num_meshes: int) -> tuple:
        """The settings tuple of the native launchers (see ``r3d._native.rasterize_meshes``)."""
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


def segment_members(first_idx: torch.Tensor, counts: torch.Tensor):
    """The packed rows of N segments (faces of meshes, points of clouds): segment n holds
    ``first_idx[n] + [0, counts[n])``. Returns index (M,) int64 every member row and item (M,)
    int64 its segment, segment by segment."""
    device = counts.device
    item = torch.repeat_interleave(torch.arange(counts.shape[0], device=device), counts)
    starts = torch.cumsum(counts, 0) - counts
    index = first_idx[item] + torch.arange(item.shape[0], device=device) - starts[item]
    return index, item


def pixel_range(lo: torch.Tensor, hi: torch.Tensor, size: int, min_side: int):
    """First and last pixel (inclusive, clipped to the side) whose centre may lie in [lo, hi],
    widened by one pixel against rounding (the native ``pixel_range`` with pad 1; the native
    mesh kernels widen faces' boxes by a bound on rounding instead); lo, hi (C,) float64
    NDC, returns two (C,) int64 (first > last when none)."""
    first = torch.ceil((size - 1 - hi * min_side) / 2) - 1
    last = torch.floor((size - 1 - lo * min_side) / 2) + 1
    return first.clamp(0, size).long(), last.clamp(-1, size - 1).long()


def _lexsort(*keys: torch.Tensor) -> torch.Tensor:
    """Permutation sorting by keys[0], then keys[1], ... (all (M,))."""
    order = torch.arange(keys[0].shape[0], device=keys[0].device)
    for key in reversed(keys):
        order = order[torch.sort(key[order], stable=True).indices]
    return order


def _keep_nearest(pix, z, elem, K: int):
    """The K nearest (z, elem) entries of each pixel; returns (pix, z, elem, rank), sorted."""
    order = _lexsort(pix, z, elem)
    pix, z, elem = pix[order], z[order], elem[order]
    rank = torch.arange(pix.shape[0], device=pix.device) - torch.searchsorted(pix, pix)
    keep = rank < K
    return pix[keep], z[keep], elem[keep], rank[keep]


def select_nearest(
    index: torch.Tensor,
    image: torch.Tensor,
    boxes: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    test: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    num_images: int,
    image_size: tuple[int, int],
    K: int,
) -> torch.Tensor:
    """Each pixel's K nearest hits among C candidate elements (faces, points), without gradients.

    Every candidate is paired with the pixels of its rectangle, in chunks so that memory stays
    bounded; the hits are merged, chunk by chunk, into each pixel's K nearest by (depth, index).

    Args:
        index: (C,) int64 packed index of each candidate.
        image: (C,) int64 the image (batch item) it is drawn into.
        boxes: x0, x1, y0, y1 (C,) int64, its inclusive pixel rectangle (empty when x1 < x0).
        test: ``test(c, x, y)`` with c (M,) candidate rows and x, y (M,) pixel columns and rows
            returns the depth (M,) and whether the pair is a hit (M,) bool.
        num_images: N.
        image_size: (H, W).
        K: slots per pixel.
    Returns:
        (N, H, W, K) int64 packed indices sorted by (depth, index), -1 past each pixel's hits.
    """
    H, W = image_size
    device = index.device
    x0, x1, y0, y1 = boxes
    width = (x1 - x0 + 1).clamp(min=0)
    area = width * (y1 - y0 + 1).clamp(min=0)
    ends = torch.cumsum(area, 0)
    total = int(ends[-1]) if ends.numel() else 0
    best = None
    for start in range(0, total, _CHUNK_PAIRS):
        pair = torch.arange(start, min(start + _CHUNK_PAIRS, total), device=device)
        c = torch.searchsorted(ends, pair, right=True)  # the candidate of each pair
        local = pair - (ends[c] - area[c])
        x, y = x0[c] + local % width[c], y0[c] + local // width[c]
        z, hit = test(c, x, y)
        found = ((image[c] * H + y) * W + x)[hit], z[hit], index[c][hit]
        if best is not None:
            found = tuple(torch.cat([a, b]) for a, b in zip(best[:3], found))
        best = _keep_nearest(*found, K)
    out = torch.full((num_images * H * W * K,), -1, dtype=torch.int64, device=device)
    if best is not None:
        pix, _, elem, rank = best
        out[pix * K + rank] = elem
    return out.view(num_images, H, W, K)


def slot_values(slots: torch.Tensor, values: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The (*shape, ...) output of a fragment field: values (S, ...) at the flat slots (S,) of
    the (*shape) slot grid, -1 elsewhere (differentiable w.r.t. values)."""
    out = values.new_full((shape.numel(), *values.shape[1:]), -1.0)
    return out.index_put((slots,), values).view(*shape, *values.shape[1:])


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
