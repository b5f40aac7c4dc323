"""Turning a file's materials into one texture per mesh (used by the OBJ and glTF loaders).

A mesh file may use several materials, each an image or a plain colour, and each image wraps
UVs outside [0, 1] its own way (glTF samplers' wrapS / wrapT, MTL's ``-clamp``).
:class:`TexturesUV` holds one image per mesh and one padding mode, so
:func:`build_uv_texture` keeps a material's image and its wrap when every face uses it, and
otherwise packs every used material into one image with
:func:`r3d.structures.textures.pack_maps_for_faces`, which resolves each material's wrap
before packing (faces moved by whole tiles, each image repeated, mirrored or clamped over the
tiles its faces cover), so repeating UVs survive the packing. :func:`build_face_atlas`
samples the same materials into a per-face atlas instead.
"""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.structures.texture_sampling import PADDING_MODES, axis_modes, sample_maps
from r3d.structures.textures import TexturesUV, atlas_barycentric_grid, pack_maps_for_faces

__all__ = [
    "CLAMP",
    "REPEAT",
    "Wrap",
    "build_face_atlas",
    "build_uv_texture",
    "saved_wrap",
    "solid_patch",
    "texture_wraps",
]

Wrap = tuple[str, str]  # (u mode, v mode): TexturesUV padding modes, "repeat" or "border" ...
REPEAT: Wrap = ("repeat", "repeat")
CLAMP: Wrap = ("border", "border")
# the loaders' texture_wrap argument: "repeat" keeps each material's own wrap (UVs outside
# [0, 1] repeat unless the file says otherwise), "clamp" or None clamps every material
TEXTURE_WRAPS = ("repeat", "clamp", None)


def solid_patch(color, dtype=torch.float32) -> torch.Tensor:
    """A (1, 1, 3) image of one colour (3 floats in [0, 1])."""
    c = torch.as_tensor(color, dtype=dtype).reshape(-1)[:3]
    return c.reshape(1, 1, 3).clone()


def texture_wraps(own: list[Wrap], texture_wrap: str | None) -> list[Wrap]:
    """The wrap of each of K patches: ``own`` (K pairs, each material's) for
    ``texture_wrap="repeat"``, clamping for "clamp" or None; InputError for other values."""
    if texture_wrap not in TEXTURE_WRAPS:
        raise InputError(f"texture_wrap must be 'repeat', 'clamp' or None, got {texture_wrap!r}")
    return list(own) if texture_wrap == "repeat" else [CLAMP] * len(own)


def saved_wrap(fn: str, texture_wrap) -> Wrap:
    """(u mode, v mode) of a saver's ``texture_wrap`` argument: a TexturesUV padding mode
    (a str or a pair, e.g. ``textures.padding_mode``); InputError naming ``fn`` otherwise."""
    pair = (texture_wrap,) * 2 if isinstance(texture_wrap, str) else texture_wrap
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or any(
            m not in PADDING_MODES for m in pair):
        raise InputError(f"{fn}: texture_wrap must be one of {PADDING_MODES} or a (u mode, "
                         f"v mode) pair of them, got {texture_wrap!r}")
    return axis_modes(tuple(pair))


def _faces_with_uvs(faces_uvs: torch.Tensor, verts_uvs: torch.Tensor | None) -> torch.Tensor:
    if verts_uvs is None or verts_uvs.shape[0] == 0:
        return torch.zeros(faces_uvs.shape[0], dtype=torch.bool)
    return (faces_uvs >= 0).all(dim=1)


def build_uv_texture(
    patches: list[torch.Tensor],
    face_patch: torch.Tensor,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor | None,
    wraps: list[Wrap] | None = None,
) -> TexturesUV:
    """One UV texture (align_corners=True) for a mesh whose faces use different images or
    colours.

    Args:
        patches: K float images (H_k, W_k, 3): a material's image or a 1x1 colour patch.
        face_patch: (F,) int64 in [0, K): the patch each face uses.
        faces_uvs: (F, 3) int64 rows of ``verts_uvs``, -1 where a face has no UVs.
        verts_uvs: (T, 2) float UVs, or None.
        wraps: K (u mode, v mode) padding modes, how each patch wraps UVs outside [0, 1]
            (default: all repeat).
    Returns:
        A one-mesh TexturesUV. When every face uses one patch and has UVs: that patch, the
        UVs unchanged and the patch's wrap as padding_mode. Otherwise the used patches
        packed by :func:`pack_maps_for_faces` (padding_mode "border"); faces without UVs
        sample the centre of their patch.
    """
    wraps = [REPEAT] * len(patches) if wraps is None else wraps
    nf = face_patch.shape[0]
    has_uv = _faces_with_uvs(faces_uvs, verts_uvs)
    used = torch.unique(face_patch).tolist() if nf else [0]
    if len(used) == 1 and bool(has_uv.all()) and nf:
        return TexturesUV([patches[used[0]]], [faces_uvs], [verts_uvs],
                          padding_mode=wraps[used[0]])
    dtype = patches[used[0]].dtype
    # one extra UV row, the centre of a patch, for the faces without UVs
    uvs = torch.cat([torch.zeros((0, 2), dtype=dtype) if verts_uvs is None
                     else verts_uvs.to(dtype), torch.full((1, 2), 0.5, dtype=dtype)])
    faces_uvs = torch.where(has_uv[:, None], faces_uvs, uvs.shape[0] - 1)
    slot_of = torch.full((len(patches),), -1, dtype=torch.int64)
    slot_of[torch.tensor(used, dtype=torch.int64)] = torch.arange(len(used))
    atlas, faces_uvs, uvs = pack_maps_for_faces(
        [patches[k] for k in used], [wraps[k] for k in used], slot_of[face_patch], faces_uvs,
        uvs, align_corners=True,
    )
    return TexturesUV([atlas], [faces_uvs], [uvs], padding_mode="border")


def build_face_atlas(
    patches: list[torch.Tensor],
    face_patch: torch.Tensor,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor | None,
    R: int,
    wraps: list[Wrap] | None = None,
) -> torch.Tensor:
    """Per-face R x R atlas sampled from each face's patch (layout of TexturesAtlas).

    Args: as :func:`build_uv_texture`, plus R, the atlas resolution. Each atlas texel samples
    its patch (bilinearly, align_corners=True) at its own UV, wrapped as the patch says.
    Returns:
        (F, R, R, 3) tensor. Faces without UVs take the colour at their patch's centre.
    """
    if not isinstance(R, int) or R < 1:
        raise InputError(f"texture_atlas_size must be an int >= 1, got {R!r}")
    wraps = [REPEAT] * len(patches) if wraps is None else wraps
    nf = face_patch.shape[0]
    dtype = patches[0].dtype if patches else torch.float32
    out = torch.zeros((nf, R, R, 3), dtype=dtype)
    has_uv = _faces_with_uvs(faces_uvs, verts_uvs)
    bary = atlas_barycentric_grid(R, dtype=dtype)
    for k in torch.unique(face_patch).tolist():
        sel = face_patch == k
        with_uv = sel & has_uv
        if bool(with_uv.any()):
            corners = verts_uvs.to(dtype)[faces_uvs[with_uv]]  # (Fk, 3, 2)
            uv = torch.einsum("rcj,fjd->frcd", bary, corners)
            fk = uv.shape[0]
            sampled = sample_maps(patches[k][None], uv.reshape(1, fk * R, R, 2), wraps[k],
                                  True, "bilinear")
            out[with_uv] = sampled.reshape(fk, R, R, 3)
        plain = sel & ~has_uv
        if bool(plain.any()):
            centre = torch.full((1, 1, 1, 2), 0.5, dtype=dtype)
            out[plain] = sample_maps(patches[k][None], centre, wraps[k], True,
                                     "bilinear").reshape(3)
    return out
