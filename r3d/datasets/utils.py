"""Batching dataset items: :func:`collate_batched_meshes` for ``torch.utils.data.DataLoader``."""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.structures import Meshes
from r3d.structures.textures import TexturesAtlas, TexturesBase

__all__ = ["collate_batched_meshes"]


def _join_textures(textures: list):
    """One textures object for the batch, or None when any item has none."""
    if any(t is None for t in textures):
        return None
    if all(isinstance(t, torch.Tensor) for t in textures):
        return TexturesAtlas(atlas=list(textures))
    if all(isinstance(t, TexturesBase) for t in textures):
        return textures[0].join_batch(list(textures[1:])) if len(textures) > 1 else textures[0]
    raise InputError(
        "collate_batched_meshes: textures must all be (F_i, R, R, C) atlas tensors or all "
        f"textures objects, got {sorted({type(t).__name__ for t in textures})}"
    )


def collate_batched_meshes(batch: list[dict]) -> dict | None:
    """Merges dataset items (dicts with the same keys) into one dict, as PyTorch3D does.

    Args:
        batch: N dicts, e.g. items of :class:`r3d.datasets.ShapeNetCore` or
            :class:`r3d.datasets.R2N2`.

    Returns:
        None for an empty batch; else a dict with, for every key of the items, the list of the
        N values, and, when the items have "verts" (V_i, 3) and "faces" (F_i, 3), "mesh": a
        :class:`r3d.structures.Meshes` of the N meshes, textured with a :class:`TexturesAtlas`
        of the items' (F_i, R, R, C) "textures" (or their joined textures objects) when every
        item has textures, else untextured.

    Raises:
        InputError: items with different keys, or textures that cannot be joined.
    """
    if not batch:
        return None
    keys = list(batch[0])
    for i, item in enumerate(batch):
        if not isinstance(item, dict) or set(item) != set(keys):
            got = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise InputError(f"collate_batched_meshes: batch[{i}] must be a dict with the keys "
                             f"of batch[0] {sorted(keys)}, got {got}")
    collated = {k: [item[k] for item in batch] for k in keys}
    if "verts" in collated and "faces" in collated:
        textures = _join_textures(collated["textures"]) if "textures" in collated else None
        collated["mesh"] = Meshes(verts=collated["verts"], faces=collated["faces"],
                                  textures=textures)
    return collated
