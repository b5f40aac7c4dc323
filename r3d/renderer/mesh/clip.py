"""Near-plane clipping for the mesh rasteriser (done in Python before rasterisation, as in
PyTorch3D's clip step).

A face with every corner at depth below ``z_clip_value`` is dropped; a face with two corners
behind becomes the smaller triangle in front; a face with one corner behind becomes the
quadrilateral in front, split into two triangles. Each sub-triangle remembers its face and the
barycentrics of its corners in that face, so fragments can be mapped back to the original faces.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class ClippedFaces(NamedTuple):
    """face_verts (F', 3, 3) sub-triangles, mesh by mesh; mesh_to_face_first_idx and
    num_faces_per_mesh (N,); face (F',) the original packed face of each; corner_bary
    (F', 3, 3): row i holds the barycentrics of corner i in the original face; split: whether
    some face became two triangles."""

    face_verts: torch.Tensor
    mesh_to_face_first_idx: torch.Tensor
    num_faces_per_mesh: torch.Tensor
    face: torch.Tensor
    corner_bary: torch.Tensor
    split: bool


def _sub_triangles(behind: torch.Tensor, t_next: torch.Tensor, t_prev: torch.Tensor):
    """Weights (S, 3, 3) of each sub-triangle's corners over its face's corners (rotated so the
    lone corner comes first) and the face of each, for faces whose lone corner is behind (two
    triangles) or in front (one triangle). t_next, t_prev: (F,) where the edges from the lone
    corner to the next and previous ones cross the plane."""
    lone_behind = behind.sum(1) == 1
    one = torch.ones_like(t_next)
    zero = torch.zeros_like(t_next)
    # points on the edges lone -> next and lone -> previous
    p_next = torch.stack([1 - t_next, t_next, zero], -1)
    p_prev = torch.stack([1 - t_prev, zero, t_prev], -1)
    corner = [torch.stack([one * (i == j) for j in range(3)], -1) for i in range(3)]
    first = torch.where(
        lone_behind[:, None, None],
        torch.stack([p_next, corner[1], corner[2]], 1),  # quad: (p_next, next, prev) ...
        torch.stack([corner[0], p_next, p_prev], 1),  # triangle in front of the lone corner
    )
    second = torch.stack([p_next, corner[2], p_prev], 1)  # ... and (p_next, prev, p_prev)
    faces = torch.arange(behind.shape[0], device=behind.device)
    return torch.cat([first, second[lone_behind]]), torch.cat([faces, faces[lone_behind]])


def clip_faces(
    face_verts: torch.Tensor,
    mesh_to_face_first_idx: torch.Tensor,
    num_faces_per_mesh: torch.Tensor,
    z_clip_value: float,
) -> ClippedFaces:
    """Clips packed faces (F, 3, 3) at depth z_clip_value (differentiably).

    Args:
        face_verts: (F, 3, 3) corners: NDC x, y and depth z; meshes' faces are consecutive.
        mesh_to_face_first_idx, num_faces_per_mesh: (N,) int64: mesh n's faces.
        z_clip_value: the near plane's depth.
    Returns:
        ClippedFaces; faces entirely in front are kept as they are (corner_bary the identity).
    """
    F = face_verts.shape[0]
    device = face_verts.device
    z = face_verts[..., 2]
    behind = z < z_clip_value
    count = behind.sum(1)
    cut = (count == 1) | (count == 2)
    # rotate each cut face so that its lone corner (the one on its own side) comes first
    lone = torch.where(count == 1, behind.long().argmax(1), (~behind).long().argmax(1))[cut]
    order = (lone[:, None] + torch.arange(3, device=device)) % 3
    zr = z[cut].gather(1, order)
    t_next = (z_clip_value - zr[:, 0]) / (zr[:, 1] - zr[:, 0])
    t_prev = (z_clip_value - zr[:, 0]) / (zr[:, 2] - zr[:, 0])
    weights, sub_face = _sub_triangles(behind[cut].gather(1, order), t_next, t_prev)
    # back to the faces' own corner order
    corner_bary = torch.zeros_like(weights).scatter(
        2, order[sub_face][:, None, :].expand_as(weights), weights
    )
    cut_idx = torch.nonzero(cut)[:, 0]
    kept = torch.nonzero(count == 0)[:, 0]
    face = torch.cat([kept, cut_idx[sub_face]])
    eye = torch.eye(3, dtype=face_verts.dtype, device=device).expand(kept.shape[0], 3, 3)
    corner_bary = torch.cat([eye, corner_bary])
    # mesh by mesh, in the original face order (stable: a quad's two halves stay together)
    perm = torch.sort(face, stable=True).indices
    face, corner_bary = face[perm], corner_bary[perm]
    mesh = torch.repeat_interleave(torch.arange(len(num_faces_per_mesh), device=device),
                                   num_faces_per_mesh, output_size=F)
    num = torch.bincount(mesh[face], minlength=len(num_faces_per_mesh))
    return ClippedFaces(
        corner_bary @ face_verts[face],
        torch.cumsum(num, 0) - num,
        num,
        face,
        corner_bary,
        bool((count == 1).any()),
    )


def unclip_fragments(fragments, clipped: ClippedFaces, K: int):
    """Maps fragments of the sub-triangles back to the original faces.

    Args:
        fragments: (pix_to_face, zbuf, bary_coords, dists) of the clipped faces with K' slots
            (K' = 2K when some face was split: a pixel may hold both halves of a quad).
        clipped: what :func:`clip_faces` returned.
        K: the slots to return.
    Returns:
        (pix_to_face, zbuf, bary_coords, dists) with K slots, in original face indices and
        barycentrics. Of two halves of a quad at one pixel the one with the smaller signed
        distance is kept: the half containing the pixel, else the nearer one (whose distance
        is then the distance to the whole clipped face). PyTorch3D keeps the smaller unsigned
        distance, which makes dists jump across the split.
    """
    pix_to_face, zbuf, bary, dists = fragments
    hit = pix_to_face >= 0
    sub = pix_to_face.clamp(min=0)
    face = torch.where(hit, clipped.face[sub], -1)
    bary = torch.where(hit[..., None], (bary[..., None, :] @ clipped.corner_bary[sub])[..., 0, :],
                       bary)
    if clipped.split:
        # drop the slot with the larger signed distance of two holding the same face, then
        # close the gaps
        near = dists.detach()
        k = torch.arange(face.shape[-1], device=face.device)
        same = (face[..., :, None] == face[..., None, :]) & hit[..., :, None]
        better = (near[..., None, :] < near[..., :, None]) | (
            (near[..., None, :] == near[..., :, None]) & (k[None, :] < k[:, None])
        )
        hit = hit & ~(same & better & (k[:, None] != k[None, :])).any(-1)
        order = torch.sort((~hit).to(torch.int8), dim=-1, stable=True).indices
        face, zbuf, dists, hit = (t.gather(-1, order) for t in (face, zbuf, dists, hit))
        bary = bary.gather(-2, order[..., None].expand_as(bary))
    keep = hit[..., :K]
    pad = torch.full_like(zbuf[..., :K], -1.0)
    return (
        torch.where(keep, face[..., :K], -1),
        torch.where(keep, zbuf[..., :K], pad),
        torch.where(keep[..., None], bary[..., :K, :], -1.0),
        torch.where(keep, dists[..., :K], pad),
    )
