"""The rigid-motion group SE(3): exponential and logarithm maps.

Transforms are 4x4 matrices in PyTorch3D's row-vector form: a point p (a row) maps to
p @ M[:3, :3] + M[3, :3], so the rotation block is R^T for a column-vector rotation R and the
translation is the last row. A log_transform is (N, 6): the translational part v then the
rotation's axis-angle w, and exp maps it to R = exp(hat(w)), t = V(w) v.
"""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.transforms._common import (
    check_shape,
    homogeneous,
    safe_norm,
    sinc,
    x_minus_sin_over_cube,
)
from r3d.transforms.so3 import hat, so3_exp_map, so3_log_map

__all__ = ["se3_exp_map", "se3_log_map"]


def _left_jacobian(log_rot: torch.Tensor) -> torch.Tensor:
    """V(w) = I + (1 - cos t) / t^2 hat(w) + (t - sin t) / t^3 hat(w)^2 with t = |w|:
    (N, 3) -> (N, 3, 3)."""
    angle = safe_norm(log_rot)[:, None, None]
    K = hat(log_rot)
    # (1 - cos t) / t^2 = sinc(t / 2)^2 / 2 without cancellation
    return (
        torch.eye(3, dtype=log_rot.dtype, device=log_rot.device)
        + sinc(angle / 2) ** 2 / 2 * K
        + x_minus_sin_over_cube(angle) * (K @ K)
    )


def se3_exp_map(log_transform: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Rigid transforms of SE(3) logarithms.

    Args:
        log_transform: (N, 6): translational part, then axis times angle of the rotation.
        eps: accepted for compatibility with PyTorch3D; not needed, as series expansions keep
            the result and its gradient exact near angle 0.
    Returns:
        (N, 4, 4) row-vector transforms: R^T in the top-left block, the translation in the
        last row, (0, 0, 0, 1) in the last column.
    """
    check_shape("se3_exp_map", "log_transform", log_transform, [6], batched=True)
    v, w = log_transform[:, :3], log_transform[:, 3:]
    R = so3_exp_map(w)
    t = (_left_jacobian(w) @ v[:, :, None])[:, :, 0]
    return homogeneous(R.transpose(1, 2), t)


def se3_log_map(
    transform: torch.Tensor, eps: float = 1e-4, cos_bound: float = 1e-4
) -> torch.Tensor:
    """SE(3) logarithms of rigid transforms, the inverse of :func:`se3_exp_map`.

    Args:
        transform: (N, 4, 4) row-vector rigid transforms; the last column must be exactly
            (0, 0, 0, 1).
        eps, cos_bound: passed to :func:`~r3d.transforms.so3.so3_log_map`.
    Returns:
        (N, 6): translational part, then axis times angle (angle in [0, pi]).
    """
    check_shape("se3_log_map", "transform", transform, [4, 4], batched=True)
    last_column = transform[:, :, 3]
    expected = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=transform.dtype, device=transform.device)
    if bool((last_column != expected).any()):
        raise InputError(
            "se3_log_map: transform must be row-vector transforms with last column (0, 0, 0, 1)"
            " (translation in the last row); got another last column"
        )
    w = so3_log_map(transform[:, :3, :3].transpose(1, 2), eps=eps, cos_bound=cos_bound)
    t = transform[:, 3, :3]
    v = torch.linalg.solve(_left_jacobian(w), t)
    return torch.cat([v, w], dim=1)
