"""Turning a file's materials into one texture per mesh (used by the OBJ and glTF loaders).

A mesh file may use several materials, each an image or a plain colour. :class:`TexturesUV`
holds one image per mesh, so :func:`build_uv_texture` packs every material that faces use into
one image (plain colours become small patches) and remaps the UVs into each material's
rectangle. :func:`build_face_atlas` samples the same materials into a per-face atlas instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d.errors import InputError
from r3d.structures.textures import atlas_barycentric_grid, pack_texture_maps, remap_uvs

__all__ = ["build_face_atlas", "build_uv_texture", "solid_patch", "wrap_uvs"]


def solid_patch(color, dtype=torch.float32) -> torch.Tensor:
    """A (1, 1, 3) image of one colour (3 floats in [0, 1])."""
    c = torch.as_tensor(color, dtype=dtype).reshape(-1)[:3]
    return c.reshape(1, 1, 3).clone()


def wrap_uvs(uvs: torch.Tensor, wrap: str | None) -> torch.Tensor:
    """UVs brought into [0, 1]: "repeat" keeps the fractional part of values outside [0, 1]
    (1.0 itself stays 1.0); "clamp" or None clamps.

    Args:
        uvs: (..., 2) float tensor.
    Returns:
        (..., 2) tensor of the same shape.
    """
    if wrap == "repeat":
        outside = (uvs < 0) | (uvs > 1)
        return torch.where(outside, uvs - torch.floor(uvs), uvs)
    if wrap in ("clamp", None):
        return uvs.clamp(0.0, 1.0)
    raise InputError(f"texture_wrap must be 'repeat', 'clamp' or None, got {wrap!r}")


def _faces_with_uvs(faces_uvs: torch.Tensor, verts_uvs: torch.Tensor | None) -> torch.Tensor:
    if verts_uvs is None or verts_uvs.shape[0] == 0:
        return torch.zeros(faces_uvs.shape[0], dtype=torch.bool)
    return (faces_uvs >= 0).all(dim=1)


def build_uv_texture(
    patches: list[torch.Tensor],
    face_patch: torch.Tensor,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor | None,
    wrap: str | None = "repeat",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One texture image for a mesh whose faces use different images or colours.

    Args:
        patches: K float images (H_k, W_k, 3): a material's image or a 1x1 colour patch.
        face_patch: (F,) int64 in [0, K): the patch each face uses.
        faces_uvs: (F, 3) int64 rows of ``verts_uvs``, -1 where a face has no UVs.
        verts_uvs: (T, 2) float UVs, or None.
        wrap: how UVs outside [0, 1] are brought in when patches are packed (see wrap_uvs).
    Returns:
        map: (H, W, 3) image. When every face uses one patch and has UVs, this is the patch
            itself and the UVs come back unchanged.
        faces_uvs: (F, 3) int64 into the returned verts_uvs; every face has UVs (faces that had
            none point at the centre of their patch).
        verts_uvs: (T', 2) float UVs into the map.
    """
    nf = face_patch.shape[0]
    has_uv = _faces_with_uvs(faces_uvs, verts_uvs)
    used = torch.unique(face_patch).tolist() if nf else [0]
    if len(used) == 1 and bool(has_uv.all()) and nf:
        return patches[used[0]], faces_uvs, verts_uvs
    slot_of = torch.full((len(patches),), -1, dtype=torch.int64)
    slot_of[torch.tensor(used, dtype=torch.int64)] = torch.arange(len(used))
    atlas, transforms = pack_texture_maps([patches[k] for k in used])
    slot = slot_of[face_patch]
    dtype = atlas.dtype
    num_t = 0 if verts_uvs is None else verts_uvs.shape[0]
    new_faces = torch.empty((nf, 3), dtype=torch.int64)
    pieces = []
    if bool(has_uv.any()):
        keys = slot[has_uv][:, None] * num_t + faces_uvs[has_uv]
        uniq, inverse = torch.unique(keys.reshape(-1), return_inverse=True)
        key_slot = uniq // num_t
        uv = wrap_uvs(verts_uvs[uniq % num_t].to(dtype), wrap)
        t = transforms.to(dtype)[key_slot]
        pieces.append(uv * t[:, [0, 2]] + t[:, [1, 3]])
        new_faces[has_uv] = inverse.reshape(-1, 3)
        base = uniq.shape[0]
    else:
        base = 0
    centre = torch.tensor([[0.5, 0.5]], dtype=dtype)
    pieces.append(torch.cat([remap_uvs(centre, transforms[s]) for s in range(len(used))]))
    no_uv = ~has_uv
    if bool(no_uv.any()):
        new_faces[no_uv] = (base + slot[no_uv])[:, None].expand(-1, 3)
    return atlas, new_faces, torch.cat(pieces, dim=0)


def build_face_atlas(
    patches: list[torch.Tensor],
    face_patch: torch.Tensor,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor | None,
    R: int,
    wrap: str | None = "repeat",
) -> torch.Tensor:
    """Per-face R x R atlas sampled from each face's patch (layout of TexturesAtlas).

    Args: as :func:`build_uv_texture`, plus R, the atlas resolution.
    Returns:
        (F, R, R, 3) tensor. Faces without UVs take the colour at their patch's centre.
    """
    if not isinstance(R, int) or R < 1:
        raise InputError(f"texture_atlas_size must be an int >= 1, got {R!r}")
    nf = face_patch.shape[0]
    dtype = patches[0].dtype if patches else torch.float32
    out = torch.zeros((nf, R, R, 3), dtype=dtype)
    has_uv = _faces_with_uvs(faces_uvs, verts_uvs)
    bary = atlas_barycentric_grid(R, dtype=dtype)
    for k in torch.unique(face_patch).tolist():
        img = patches[k].permute(2, 0, 1)[None]
        sel = face_patch == k
        with_uv = sel & has_uv
        if bool(with_uv.any()):
            corners = verts_uvs.to(dtype)[faces_uvs[with_uv]]  # (Fk, 3, 2)
            uv = wrap_uvs(torch.einsum("rcj,fjd->frcd", bary, corners), wrap)
            grid = torch.stack([uv[..., 0] * 2 - 1, (1 - uv[..., 1]) * 2 - 1], dim=-1)
            fk = grid.shape[0]
            sampled = F.grid_sample(
                img, grid.reshape(1, fk * R, R, 2), mode="bilinear",
                padding_mode="border", align_corners=True,
            )
            out[with_uv] = sampled[0].permute(1, 2, 0).reshape(fk, R, R, 3)
        plain = sel & ~has_uv
        if bool(plain.any()):
            centre = F.grid_sample(
                img, torch.zeros((1, 1, 1, 2), dtype=dtype), mode="bilinear",
                padding_mode="border", align_corners=True,
            ).reshape(3)
            out[plain] = centre
    return out
