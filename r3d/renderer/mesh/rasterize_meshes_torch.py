"""Pure-PyTorch mesh rasterisation: the any-device fallback and the test oracle of the native
kernel.

Each visible face is paired with the pixels of its blur-expanded bounding box and the hits are
kept, each pixel's K nearest by (depth, face index) (``raster_geometry.select_nearest``, in
chunks so that memory stays bounded whatever the image and face sizes). Selection runs without
gradients; the depth, barycentrics and distances of the selected pairs are then evaluated again,
differentiably, so autograd gives the gradient w.r.t. the face corners.
"""

from __future__ import annotations

import math

import torch

from r3d.renderer.mesh.raster_geometry import (
    RasterParams,
    pixel_centres,
    pixel_face_terms,
    pixel_range,
    segment_members,
    select_nearest,
    slot_values,
    visible_faces,
)


def _face_boxes(face_verts: torch.Tensor, params: RasterParams):
    """Per face (F, 3, 3): the pixel rectangles x0, x1, y0, y1 (F,) it may hit (inclusive)."""
    H, W = params.image_size
    r = math.sqrt(params.blur_radius)
    v = face_verts.double()
    x0, x1 = pixel_range(v[:, :, 0].amin(1) - r, v[:, :, 0].amax(1) + r, W, min(H, W))
    y0, y1 = pixel_range(v[:, :, 1].amin(1) - r, v[:, :, 1].amax(1) + r, H, min(H, W))
    return x0, x1, y0, y1


def _candidate_faces(face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params):
    """The visible faces of every mesh: packed face index, mesh index and pixel rectangle."""
    face, mesh = segment_members(mesh_to_face_first_idx, num_faces_per_mesh)
    keep = visible_faces(face_verts[face], params.cull_backfaces)
    face, mesh = face[keep], mesh[keep]
    return face, mesh, _face_boxes(face_verts[face], params)


def select_faces(face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params) -> torch.Tensor:
    """(N, H, W, K) int64 pix_to_face: each pixel's K nearest hits, -1 past them."""
    H, W = params.image_size
    xs = pixel_centres(W, min(H, W), face_verts.dtype, face_verts.device)
    ys = pixel_centres(H, min(H, W), face_verts.dtype, face_verts.device)
    face, mesh, boxes = _candidate_faces(
        face_verts, mesh_to_face_first_idx, num_faces_per_mesh, params
    )

    def test(c, x, y):
        terms = pixel_face_terms(face_verts[face[c]], xs[x], ys[y], params)
        return terms.zbuf, terms.hit

    return select_nearest(
        face, mesh, boxes, test, num_faces_per_mesh.shape[0], params.image_size,
        params.faces_per_pixel,
    )


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
    zbuf, bary, dists = (slot_values(slots, t, shape) for t in terms[:3])
    return pix_to_face, zbuf, bary, dists
