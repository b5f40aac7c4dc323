"""Sampling image feature maps at vertex positions (PyTorch3D's ``vert_align``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d.errors import InputError

_OP = "vert_align"


def _padded_positions(verts) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(N, V, 3) positions and, for Meshes / Pointclouds, their padded-to-packed index."""
    if isinstance(verts, torch.Tensor):
        if verts.dim() != 3 or verts.shape[2] != 3 or not verts.is_floating_point():
            raise InputError(f"{_OP}: verts must be a float tensor of shape (N, V, 3), got "
                             f"{describe(verts)}")
        return verts, None
    if hasattr(verts, "verts_padded"):
        return verts.verts_padded(), verts.verts_padded_to_packed_idx()
    if hasattr(verts, "points_padded"):
        return verts.points_padded(), verts.padded_to_packed_idx()
    raise InputError(f"{_OP}: verts must be a (N, V, 3) tensor, a Meshes or a Pointclouds, got "
                     f"{describe(verts)}")


def vert_align(
    feats: torch.Tensor | list[torch.Tensor],
    verts,
    return_packed: bool = False,
    interp_mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool = True,
) -> torch.Tensor:
    """Samples feature maps at the (x, y) of every vertex with ``F.grid_sample``.

    Args:
        feats: a (N, C, H, W) feature map or a list of them (with any C, H, W, one N).
        verts: (N, V, 3) positions, or a Meshes / Pointclouds of N items; x and y, in [-1, 1]
            across the width and the height (grid_sample's convention), select the sample.
        return_packed: return (sum V_i, C) rows of the packed vertices (Meshes / Pointclouds)
            or (N * V, C) for a tensor, instead of (N, V, C).
        interp_mode, padding_mode, align_corners: passed to ``F.grid_sample``.
    Returns:
        (N, V, C) or packed features, C the sum of the maps' channels, in the order of feats.
        Differentiable w.r.t. feats and verts.
    """
    maps = [feats] if isinstance(feats, torch.Tensor) else feats
    if not isinstance(maps, (list, tuple)) or not maps:
        raise InputError(f"{_OP}: feats must be a tensor (N, C, H, W) or a non-empty list of "
                         f"them, got {describe(feats)}")
    positions, packed_idx = _padded_positions(verts)
    for i, fmap in enumerate(maps):
        if not isinstance(fmap, torch.Tensor) or fmap.dim() != 4 \
                or fmap.shape[0] != positions.shape[0]:
            raise InputError(
                f"{_OP}: feats[{i}] must be a tensor of shape ({positions.shape[0]}, C, H, W) "
                f"(one map per item of verts), got {describe(fmap)}"
            )
    grid = positions[:, None, :, :2].to(maps[0].dtype)  # (N, 1, V, 2)
    sampled = [
        F.grid_sample(fmap, grid, mode=interp_mode, padding_mode=padding_mode,
                      align_corners=align_corners)[:, :, 0].transpose(1, 2)
        for fmap in maps
    ]  # each (N, V, C_i)
    out = torch.cat(sampled, dim=2)
    if not return_packed:
        return out
    flat = out.reshape(-1, out.shape[2])
    return flat if packed_idx is None else flat[packed_idx]
