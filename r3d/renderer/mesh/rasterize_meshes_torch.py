"""Pure-PyTorch mesh rasterisation: the any-device fallback and the test oracle of the native
kernel.

Each visible face is paired with the pixels of its blur-expanded bounding box (in chunks, so
memory stays bounded whatever the image and face sizes); the pairs that hit are merged, chunk by
chunk, into each pixel's K nearest by (depth, face index). Selection runs without gradients;
the depth, barycentrics and distances of the selected pairs are then evaluated again,
differentiably, so autograd gives the gradient w.r.t. the face corners.
"""

from __future__ import annotations

import math

import torch

from r3d.renderer.mesh.raster_geometry import (
    RasterParams,
    pixel_centres,
    pixel_face_terms,
    visible_faces,
)

# Pairs evaluated at once by the selection pass.
_CHUNK_PAIRS = 1 << 18


def _pixel_range(lo: torch.Tensor, hi: torch.Tensor, size: int, min_side: int):
    """First and last pixel (inclusive, clipped to the side) whose centre may lie in [lo, hi],
    widened by one pixel against rounding; float64 in, int64 out."""
    first = torch.ceil((size - 1 - hi * min_side) / 2) - 1
    last = torch.floor((size - 1 - lo * min_side) / 2) + 1
    return first.clamp(0, size).long(), last.clamp(-1, size - 1).long()


def _face_boxes(face_verts: torch.Tensor, params: RasterParams):
    """Per face (F, 3, 3): the pixel rectangles x0, x1, y0, y1 (F,) it may hit (inclusive)."""
    H, W = params.image_size
    r = math.sqrt(params.blur_radius)
    v = face_verts.double()
    x0, x1 = _pixel_range(v[:, :, 0].amin(1) - r, v[:, :, 0].amax(1) + r, W, min(H, W))
    y0, y1 = _pixel_range(v[:, :, 1].amin(1) - r, v[:, :, 1].amax(1) + r, H, min(H, W))
    return x0, x1, y0, y1


def _lexsort(*keys: torch.Tensor) -> torch.Tensor:
    """Permutation sorting by keys[0], then keys[1], ... (all (M,))."""
    order = torch.arange(keys[0].shape[0], device=keys[0].device)
    for key in reversed(keys):
        order = order[torch.sort(key[order], stable=True).indices]
    return order


def _keep_nearest(pix, z, face, K: int):
    """The K nearest (z, face) entries of each pixel; returns (pix, z, face, rank), sorted."""
    order = _lexsort(pix, z, face)
    pix, z, face = pix[order], z[order], face[order]
    rank = torch.arange(pix.shape[0], device=pix.device) - torch.searchsorted(pix, pix)
    keep = rank < K
    return pix[keep], z[keep], face[keep], rank[keep]


def _candidate_faces(face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params):
    """The visible faces of every mesh: packed face index, mesh index and pixel rectangle."""
    N = num_faces_per_mesh.shape[0]
    device = face_verts.device
    mesh = torch.repeat_interleave(torch.arange(N, device=device), num_faces_per_mesh)
    starts = torch.cumsum(num_faces_per_mesh, 0) - num_faces_per_mesh
    face = mesh_to_face_first_idx[mesh] + torch.arange(mesh.shape[0], device=device) - starts[mesh]
    keep = visible_faces(face_verts[face], params.cull_backfaces)
    face, mesh = face[keep], mesh[keep]
    x0, x1, y0, y1 = _face_boxes(face_verts[face], params)
    area = (x1 - x0 + 1).clamp(min=0) * (y1 - y0 + 1).clamp(min=0)
    return face, mesh, x0, y0, x1 - x0 + 1, area


def select_faces(face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params) -> torch.Tensor:
    """(N, H, W, K) int64 pix_to_face: each pixel's K nearest hits, -1 past them."""
    H, W = params.image_size
    K = params.faces_per_pixel
    N = num_faces_per_mesh.shape[0]
    device, dtype = face_verts.device, face_verts.dtype
    xs = pixel_centres(W, min(H, W), dtype, device)
    ys = pixel_centres(H, min(H, W), dtype, device)
    face, mesh, x0, y0, width, area = _candidate_faces(
        face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params
    )
    ends = torch.cumsum(area, 0)
    total = int(ends[-1]) if ends.numel() else 0
    best_pix = torch.empty(0, dtype=torch.int64, device=device)
    best_z = face_verts.new_empty(0)
    best_face = torch.empty(0, dtype=torch.int64, device=device)
    best_rank = torch.empty(0, dtype=torch.int64, device=device)
    for start in range(0, total, _CHUNK_PAIRS):
        pair = torch.arange(start, min(start + _CHUNK_PAIRS, total), device=device)
        i = torch.searchsorted(ends, pair, right=True)  # the candidate face of each pair
        local = pair - (ends[i] - area[i])
        x, y = x0[i] + local % width[i], y0[i] + local // width[i]
        terms = pixel_face_terms(face_verts[face[i]], xs[x], ys[y], params)
        hit = terms.hit
        pix = (mesh[i] * H + y) * W + x
        best_pix, best_z, best_face, best_rank = _keep_nearest(
            torch.cat([best_pix, pix[hit]]), torch.cat([best_z, terms.zbuf[hit]]),
            torch.cat([best_face, face[i][hit]]), K,
        )
    pix_to_face = torch.full((N * H * W * K,), -1, dtype=torch.int64, device=device)
    pix_to_face[best_pix * K + best_rank] = best_face
    return pix_to_face.view(N, H, W, K)


def rasterize_face_verts_torch(
    face_verts: torch.Tensor,
    mesh_to_face_first_idx: torch.Tensor,
    num_faces_per_mesh: torch.Tensor,
    params: RasterParams,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterises packed faces (pure PyTorch, any device).

    Args:
        face_verts: (F, 3, 3) packed face corners: NDC x, y and view depth z.
        mesh_to_face_first_idx, num_faces_per_mesh: (N,) int64: mesh n's faces.
        params: the settings.
    Returns:
        pix_to_face (N, H, W, K) int64, zbuf (N, H, W, K), bary_coords (N, H, W, K, 3) and
        dists (N, H, W, K), sorted by (depth, face index), -1 past each pixel's hits;
        zbuf, bary_coords and dists are differentiable w.r.t. face_verts.
    """
    with torch.no_grad():
        pix_to_face = select_faces(
            face_verts.detach(), mesh_to_face_first_idx, num_faces_per_mesh, params
        )
    H, W = params.image_size
    K = params.faces_per_pixel
    slots = torch.nonzero(pix_to_face.view(-1) >= 0)[:, 0]
    pix = slots // K
    xs = pixel_centres(W, min(H, W), face_verts.dtype, face_verts.device)
    ys = pixel_centres(H, min(H, W), face_verts.dtype, face_verts.device)
    terms = pixel_face_terms(
        face_verts[pix_to_face.view(-1)[slots]], xs[pix % W], ys[(pix // W) % H], params
    )
    shape = pix_to_face.shape
    zbuf = face_verts.new_full((pix_to_face.numel(),), -1.0).index_put((slots,), terms.zbuf)
    dists = face_verts.new_full((pix_to_face.numel(),), -1.0).index_put((slots,), terms.dists)
    bary = face_verts.new_full((pix_to_face.numel(), 3), -1.0).index_put((slots,), terms.bary)
    return pix_to_face, zbuf.view(shape), bary.view(*shape, 3), dists.view(shape)
