"""Argument checks and the empty-batch value shared by the mesh regularisers."""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.structures import Meshes


def check_meshes(op: str, meshes: Meshes) -> None:
    """Raises InputError unless ``meshes`` is an r3d Meshes."""
    if not isinstance(meshes, Meshes):
        raise InputError(f"{op}: meshes must be an r3d Meshes, got {type(meshes).__name__}")


def empty_loss(meshes: Meshes) -> torch.Tensor:
    """The loss of a batch with no faces: a () zero that requires grad, as in PyTorch3D."""
    return torch.zeros(
        (), dtype=meshes.verts_packed().dtype, device=meshes.device, requires_grad=True
    )


def per_item_mean(values: torch.Tensor, item: torch.Tensor, num_items: int) -> torch.Tensor:
    """Mean over items of the mean of each item's values (items without values count as 0).

    Args:
        values: (K,) per-element terms; item: (K,) int64 item of each element in [0, N).
    Returns:
        () tensor: ``sum_k values[k] / count[item[k]] / N``.
    """
    # scatter_add, not bincount: the output size is known, so CUDA need not report it
    counts = values.new_zeros((num_items,)).scatter_add_(0, item, torch.ones_like(values))
    return (values / counts[item]).sum() / num_items
