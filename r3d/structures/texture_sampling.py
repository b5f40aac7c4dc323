"""Looking textures up at rasterised fragments (the sampling half of the texture classes).

Each function returns zeros in empty fragment slots (``pix_to_face == -1``) and is
differentiable w.r.t. the texture tensors and, where the lookup is continuous (vertex
features, bilinear UV maps), w.r.t. the barycentric coordinates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d.structures.fragments import Fragments
from r3d.structures.interp_face_attrs import interpolate_face_attributes

__all__ = [
    "atlas_texel_index",
    "sample_atlas",
    "sample_maps",
    "sample_uv",
    "sample_vertex_features",
]


def _blank_empty(fragments: Fragments, texels: torch.Tensor) -> torch.Tensor:
    return torch.where(fragments.pix_to_face[..., None] >= 0, texels, 0)


def sample_vertex_features(fragments: Fragments, faces_features: torch.Tensor) -> torch.Tensor:
    """Per-corner features interpolated with the fragments' barycentrics.

    Args:
        fragments: pix_to_face (N, H, W, K) indexes the F packed faces.
        faces_features: (F, 3, C) features of each face's corners.
    Returns:
        (N, H, W, K, C).
    """
    return interpolate_face_attributes(
        fragments.pix_to_face, fragments.bary_coords.to(faces_features.dtype), faces_features
    )


def sample_maps(
    maps: torch.Tensor,
    uvs: torch.Tensor,
    padding_mode: str,
    align_corners: bool,
    sampling_mode: str,
    maps_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Samples image n of ``maps`` at the UVs of batch item n.

    Args:
        maps: (N, Hm, Wm, C) images, row 0 at the top; with ``maps_ids``, (N, M, Hm, Wm, C):
            M images per batch item.
        uvs: (N, A, B, 2) (u, v): u to the right, v up, (0, 0) the bottom-left corner.
        padding_mode: "zeros", "border", "reflection" (torch.grid_sample's) or "repeat" (the
            image tiles the plane: UVs wrap, bilinear samples at the seam blend both sides).
        align_corners: True: 0 and 1 are the centres of the outer texels; False: their edges.
        sampling_mode: "bilinear" or "nearest".
        maps_ids: None, or (N, A, B) int64 in [0, M): which of item n's images each UV
            samples. Every image is sampled at every UV and each UV keeps its own image's
            texel, so the cost grows with M.
    Returns:
        (N, A, B, C).
    """
    if maps_ids is not None:
        out = maps.new_zeros(tuple(uvs.shape[:-1]) + (maps.shape[-1],))
        for m in range(maps.shape[1]):
            texels = sample_maps(maps[:, m], uvs, padding_mode, align_corners, sampling_mode)
            out = torch.where(maps_ids[..., None] == m, texels, out)
        return out
    images = maps.permute(0, 3, 1, 2)
    u, v = uvs.unbind(-1)
    if padding_mode == "repeat":
        h, w = maps.shape[1:3]
        u, v = u - u.floor(), v - v.floor()
        # texel coordinates (column, row) of the wrapped UVs, +1 for the one-texel circular pad
        shift = 1.0 if align_corners else 0.5
        x = u * (w - 1 if align_corners else w) + shift
        y = (1 - v) * (h - 1 if align_corners else h) + shift
        images = F.pad(images, (1, 1, 1, 1), mode="circular")
        grid = torch.stack([2 * x / (w + 1) - 1, 2 * y / (h + 1) - 1], dim=-1)
        align_corners, padding_mode = True, "border"
    else:
        grid = torch.stack([2 * u - 1, 1 - 2 * v], dim=-1)
    out = F.grid_sample(
        images, grid.to(images.dtype), mode=sampling_mode, padding_mode=padding_mode,
        align_corners=align_corners,
    )
    return out.permute(0, 2, 3, 1)


def sample_uv(
    fragments: Fragments,
    maps: torch.Tensor,
    faces_verts_uvs: torch.Tensor,
    padding_mode: str,
    align_corners: bool,
    sampling_mode: str,
    faces_maps_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """UV-mapped texels at the fragments: UVs interpolated, then the maps sampled.

    Args:
        fragments: N images of H x W pixels, K faces per pixel.
        maps: (N, Hm, Wm, C): image n's faces use map n; with ``faces_maps_ids``,
            (N, M, Hm, Wm, C): image n's faces use one of the M maps n.
        faces_verts_uvs: (F, 3, 2) UVs of each packed face's corners.
        padding_mode, align_corners, sampling_mode: as :func:`sample_maps`.
        faces_maps_ids: None, or (F,) int64 in [0, M): the map of each packed face.
    Returns:
        (N, H, W, K, C).
    """
    n, h, w, k = fragments.pix_to_face.shape
    uvs = sample_vertex_features(fragments, faces_verts_uvs)
    ids = None
    if faces_maps_ids is not None:
        # empty slots (pix_to_face -1) read the appended 0
        ids = F.pad(faces_maps_ids, (0, 1))[fragments.pix_to_face].reshape(n, h, w * k)
    texels = sample_maps(
        maps, uvs.reshape(n, h, w * k, 2), padding_mode, align_corners, sampling_mode, ids
    )
    return _blank_empty(fragments, texels.reshape(n, h, w, k, -1))


def atlas_texel_index(bary: torch.Tensor, R: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of the R x R atlas texel holding barycentrics ``bary`` (..., 3).

    The inverse of :func:`r3d.structures.textures.atlas_barycentric_grid`: the column
    grows with w0, the row with w1; points past the texel diagonal use the mirrored texel.
    """
    w01 = bary[..., :2].clamp(0.0, 1.0)
    cell = (w01 * R).floor().long().clamp(0, R - 1)
    below = (w01.sum(-1) * R - cell.sum(-1)) <= 1.0
    cell = torch.where(below[..., None], cell, R - 1 - cell)
    return cell[..., 1], cell[..., 0]


def sample_atlas(fragments: Fragments, atlas: torch.Tensor) -> torch.Tensor:
    """The atlas texel under each fragment (nearest lookup).

    Args:
        fragments: pix_to_face (N, H, W, K) indexes the F packed faces.
        atlas: (F, R, R, C) packed per-face texels.
    Returns:
        (N, H, W, K, C).
    """
    row, col = atlas_texel_index(fragments.bary_coords, atlas.shape[1])
    texels = atlas[fragments.pix_to_face.clamp(min=0), row, col]
    return _blank_empty(fragments, texels)
