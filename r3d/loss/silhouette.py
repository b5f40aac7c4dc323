"""Losses between soft silhouettes (coverage in [0, 1]) and target masks."""

from __future__ import annotations

import torch

from r3d.errors import InputError

__all__ = ["silhouette_iou_loss"]


def silhouette_iou_loss(alpha: torch.Tensor, masks: torch.Tensor,
                        eps: float = 1e-6) -> torch.Tensor:
    """Mean over n images of ``1 - soft IoU``: ``1 - sum(a m) / sum(a + m - a m)`` per image,
    for soft coverages ``alpha`` (n, H, W) and target masks (n, H, W) in [0, 1] (SoftRas's
    silhouette loss). Unlike a per-pixel mean squared error it does not shrink with the
    object's share of the image: small and thin objects pull as hard as large ones. An image
    whose render and mask are both empty scores 0."""
    if alpha.shape != masks.shape or alpha.dim() != 3:
        raise InputError(f"silhouette_iou_loss: alpha {tuple(alpha.shape)} and masks "
                         f"{tuple(masks.shape)} must be the same (n, H, W)")
    product = (alpha * masks).flatten(1).sum(1)
    union = (alpha + masks).flatten(1).sum(1) - product
    return (1.0 - (product + eps) / (union + eps)).mean()
