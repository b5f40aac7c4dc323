"""Scores of a fit: silhouette IoU and PSNR per view, Chamfer-L2 and F-score against a
ground-truth surface, camera pose errors."""

from __future__ import annotations

import math
import os

import torch

from r3d.runs.surface import compare, load_points
from r3d.transforms import so3_relative_angle

__all__ = ["F_SCORE_TAUS", "iou", "pose_errors", "psnr", "surface_scores"]

F_SCORE_TAUS = (0.05, 0.1)  # distances (mesh units) of the F-scores


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
def surface_scores(pred: str | os.PathLike, gt: str | os.PathLike) -> dict[str, float]:
    """Chamfer-L2 (mean squared nearest distance, both ways summed, as PyTorch3D's
    ``chamfer_distance``) and F-scores at :data:`F_SCORE_TAUS` between the surfaces of two
    files (a predicted mesh or point cloud, a ground-truth mesh): exactly what
    ``r3d chamfer GT PRED`` reports with its default samples and seed (on the CPU)."""
    x, y = load_points(gt), load_points(pred)
    results = [compare(x, y, tau=tau) for tau in F_SCORE_TAUS]
    return {"chamfer_l2": results[0]["chamfer"],
            **{f"f_score@{tau}": r["fscore"] for tau, r in zip(F_SCORE_TAUS, results)}}


def pose_errors(R: torch.Tensor, T: torch.Tensor, R_true: torch.Tensor,
                T_true: torch.Tensor) -> dict[str, list[float]]:
    """Per view: the angle in degrees between fitted and true rotations (n, 3, 3) and the
    distance between the camera centres (from T (n, 3))."""
    angle = torch.rad2deg(so3_relative_angle(R.double(), R_true.double()))
    centre = -(T[:, None] @ R.transpose(1, 2))[:, 0]
    centre_true = -(T_true[:, None] @ R_true.transpose(1, 2))[:, 0]
    return {"rotation_error_deg": angle.tolist(),
            "centre_error": (centre - centre_true).norm(dim=1).tolist()}
