"""Scores of a fit: silhouette IoU and PSNR per view, Chamfer-L2 and F-score against a
ground-truth surface, camera pose errors."""

from __future__ import annotations

import math

import torch

from r3d.loss import chamfer_distance
from r3d.ops import knn_points, sample_points_from_meshes
from r3d.structures import Meshes
from r3d.transforms import so3_relative_angle

__all__ = ["F_SCORE_TAUS", "iou", "pose_errors", "psnr", "surface_scores"]

F_SCORE_TAUS = (0.05, 0.1)  # distances (mesh units) of the F-scores
SURFACE_SAMPLES = 20000


def iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(n,) intersection over union of masks (n, H, W) thresholded at 0.5 (1 when both are
    empty)."""
    p, t = pred > 0.5, target > 0.5
    inter = (p & t).flatten(1).sum(1).double()
    union = (p | t).flatten(1).sum(1).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(n,) peak signal-to-noise ratio in dB of images (n, H, W, 3) in [0, 1] (inf when
    equal)."""
    mse = (pred.double() - target.double()).square().flatten(1).mean(1)
    return torch.where(mse > 0, -10.0 * torch.log10(mse), torch.full_like(mse, math.inf))


@torch.no_grad()
def surface_scores(pred: Meshes | torch.Tensor, gt: Meshes, seed: int = 0) -> dict[str, float]:
    """Chamfer-L2 (mean squared nearest distance, both ways summed, as PyTorch3D's
    ``chamfer_distance``) and F-scores at :data:`F_SCORE_TAUS` between a prediction (a
    one-mesh batch, sampled, or (1, P, 3) points) and :data:`SURFACE_SAMPLES` points sampled on
    the one-mesh batch ``gt``."""
    g = torch.Generator(device=gt.device).manual_seed(seed)
    x = pred if isinstance(pred, torch.Tensor) else sample_points_from_meshes(
        pred, SURFACE_SAMPLES, generator=g)
    y = sample_points_from_meshes(gt, SURFACE_SAMPLES, generator=g)
    scores = {"chamfer_l2": float(chamfer_distance(x, y)[0])}
    d_xy = knn_points(x, y, K=1).dists[0, :, 0].sqrt()
    d_yx = knn_points(y, x, K=1).dists[0, :, 0].sqrt()
    for tau in F_SCORE_TAUS:
        precision = float((d_xy < tau).double().mean())
        recall = float((d_yx < tau).double().mean())
        total = precision + recall
        scores[f"f_score@{tau}"] = 2 * precision * recall / total if total > 0 else 0.0
    return scores


def pose_errors(R: torch.Tensor, T: torch.Tensor, R_true: torch.Tensor,
                T_true: torch.Tensor) -> dict[str, list[float]]:
    """Per view: the angle in degrees between fitted and true rotations (n, 3, 3) and the
    distance between the camera centres (from T (n, 3))."""
    angle = torch.rad2deg(so3_relative_angle(R.double(), R_true.double()))
    centre = -(T[:, None] @ R.transpose(1, 2))[:, 0]
    centre_true = -(T_true[:, None] @ R_true.transpose(1, 2))[:, 0]
    return {"rotation_error_deg": angle.tolist(),
            "centre_error": (centre - centre_true).norm(dim=1).tolist()}
