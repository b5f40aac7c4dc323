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
    "PADDING_MODES",
    "atlas_texel_index",
    "axis_modes",
    "sample_atlas",
    "sample_maps",
    "sample_uv",
    "sample_vertex_features",
    "wrap_coordinate",
    "wrap_texel_index",
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


PADDING_MODES = ("zeros", "border", "reflection", "repeat")


def axis_modes(padding_mode: str | tuple[str, str]) -> tuple[str, str]:
    """(u mode, v mode) of a padding mode given for both axes (a str) or per axis (a pair)."""
    if isinstance(padding_mode, str):
        return padding_mode, padding_mode
    return padding_mode[0], padding_mode[1]


def _fold(s: torch.Tensor) -> torch.Tensor:
    """Mirrored repeat of normalised coordinates: 0..1 as is, 1..2 mirrored, period 2."""
    t = s - 2 * torch.floor(s / 2)
    return 1 - (t - 1).abs()


def wrap_coordinate(s: torch.Tensor, mode: str) -> torch.Tensor:
    """Normalised coordinates (u, or v: 0 and 1 are the image's edges or outer texel centres)
    wrapped as ``mode`` says: "repeat" keeps the fractional part of those outside [0, 1] (1
    stays 1: with align_corners, the last texel), "reflection" mirrors every other tile;
    "border" and "zeros" leave them (the texel lookup clamps or zeroes)."""
    if mode == "repeat":
        return torch.where((s >= 0) & (s <= 1), s, s - torch.floor(s))
    if mode == "reflection":
        return _fold(s)
    return s


def _texel_coordinate(s: torch.Tensor, size: int, mode: str, align_corners: bool):
    """Texel coordinate (0 = the first texel's centre) of wrapped normalised coordinates ``s``
    along an axis of ``size`` texels, clamped for "border" and "reflection"; for "repeat",
    in the image padded circularly by one texel (so bilinear samples blend across the seam)."""
    x = s * (size - 1) if align_corners else s * size - 0.5
    if mode == "repeat":
        return x + 1
    if mode in ("border", "reflection"):
        return x.clamp(0, size - 1)
    return x


def wrap_texel_index(t: torch.Tensor, size: int, mode: str,
                     align_corners: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The texels :func:`sample_maps` reads at integer texel positions ``t`` along one axis.

    Position i is texel i's centre for i in [0, size); positions outside repeat, mirror or
    clamp the image as ``mode`` says, so that bilinear sampling of the image extended this way
    is sampling with that mode (with align_corners and "repeat", positions k * (size - 1)
    other than 0 and size - 1 show texel 0: the map jumps there from its last texel to its
    first, which no extension can hold).

    Args:
        t: (n,) int64 positions; size: texels along the axis.
    Returns:
        index: (n,) int64 in [0, size); inside: (n,) bool, False where "zeros" reads zero.
    """
    inside = torch.ones_like(t, dtype=torch.bool)
    period = size - 1 if align_corners else size
    if mode == "repeat" and period > 0:
        inner = (t >= 0) & (t < size)
        return torch.where(inner, t, torch.remainder(t, period)), inside
    if mode == "reflection" and period > 0:
        m = torch.remainder(t, 2 * period)
        mirror = 2 * period - m - (0 if align_corners else 1)
        return torch.where(m < size, m, mirror), inside
    if mode == "zeros":
        inside = (t >= 0) & (t < size)
    return t.clamp(0, size - 1), inside


def sample_maps(
    maps: torch.Tensor,
    uvs: torch.Tensor,
    padding_mode: str | tuple[str, str],
    align_corners: bool,
    sampling_mode: str,
    maps_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Samples image n of ``maps`` at the UVs of batch item n.

    Args:
        maps: (N, Hm, Wm, C) images, row 0 at the top; with ``maps_ids``, (N, M, Hm, Wm, C):
            M images per batch item.
        uvs: (N, A, B, 2) (u, v): u to the right, v up, (0, 0) the bottom-left corner.
        padding_mode: for both axes, or a (u mode, v mode) pair: "zeros" (zero outside the
            image), "border" (clamp to the edge), "reflection" (mirrored repeat: the image
            tiles the plane, every other tile mirrored; torch.grid_sample's modes) or "repeat"
            (the image tiles the plane; bilinear samples at the seam blend both sides when
            ``align_corners`` is False).
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
    mode_u, mode_v = axis_modes(padding_mode)
    images = maps.permute(0, 3, 1, 2)
    h, w = maps.shape[1:3]
    u, v = uvs.unbind(-1)
    # v is wrapped before the flip to rows, so that v = 0 stays the bottom row
    x = _texel_coordinate(wrap_coordinate(u, mode_u), w, mode_u, align_corners)
    y = _texel_coordinate(1 - wrap_coordinate(v, mode_v), h, mode_v, align_corners)
    pad_x, pad_y = int(mode_u == "repeat"), int(mode_v == "repeat")
    if pad_x or pad_y:
        images = F.pad(images, (pad_x, pad_x, pad_y, pad_y), mode="circular")
    wp, hp = w + 2 * pad_x, h + 2 * pad_y
    # texel coordinate x of an image wp texels wide is grid_sample's (2x + 1) / wp - 1
    # (align_corners=False); every axis but a "zeros" one is inside the image now
    grid = torch.stack([(2 * x + 1) / wp - 1, (2 * y + 1) / hp - 1], dim=-1)
    out = F.grid_sample(
        images, grid.to(images.dtype), mode=sampling_mode,
        padding_mode="zeros" if "zeros" in (mode_u, mode_v) else "border", align_corners=False,
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
