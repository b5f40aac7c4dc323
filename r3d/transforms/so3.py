"""The rotation group SO(3): exponential and logarithm maps, rotation angles, hat operator.

Rotation matrices act on column vectors, as in :mod:`r3d.transforms.rotation_conversions`.
Every function here has finite gradients everywhere, the identity and 180-degree rotations
included: the maps go through quaternions and use series expansions near angle 0. All are
scriptable with ``torch.jit.script``, as PyTorch3D's are.
"""

from __future__ import annotations

import torch

from r3d.errors import InputError, R3DDeprecationWarning, warn
from r3d.transforms._common import check_shape, safe_norm
from r3d.transforms.rotation_conversions import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = [
    "hat",
    "hat_inv",
    "so3_exp_map",
    "so3_exponential_map",
    "so3_log_map",
    "so3_relative_angle",
    "so3_rotation_angle",
]

def hat(v: torch.Tensor) -> torch.Tensor:
    """Skew-symmetric matrices of 3-vectors: ``hat(v) @ u == cross(v, u)``.

    Args:
        v: (N, 3).
    Returns:
        (N, 3, 3).
    """
    check_shape("hat", "v", v, [3], batched=True)
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), -1).view(v.shape[0], 3, 3)


def hat_inv(h: torch.Tensor) -> torch.Tensor:
    """The 3-vectors of skew-symmetric matrices, the inverse of :func:`hat`.

    Args:
        h: (N, 3, 3) skew-symmetric (h + h^T within 1e-5 of 0, else InputError).
    Returns:
        (N, 3).
    """
    check_shape("hat_inv", "h", h, [3, 3], batched=True)
    tol = 1e-5  # a literal: scripted functions cannot read module constants
    if h.numel() > 0 and float((h + h.transpose(1, 2)).abs().max()) > tol:
        raise InputError(
            f"hat_inv: h must hold skew-symmetric matrices (|h + h^T| <= {tol}), "
            "got a matrix that is not"
        )
    return torch.stack((h[:, 2, 1], h[:, 0, 2], h[:, 1, 0]), -1)


def so3_exp_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Rotation matrices exp(hat(log_rot)) (Rodrigues' formula).

    Args:
        log_rot: (N, 3) axis times angle in radians.
        eps: accepted for compatibility with PyTorch3D; not needed, as series expansions keep
            the result and its gradient exact near angle 0.
    Returns:
        (N, 3, 3) rotation matrices.
    """
    check_shape("so3_exp_map", "log_rot", log_rot, [3], batched=True)
    return axis_angle_to_matrix(log_rot)


def so3_exponential_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Deprecated alias of :func:`so3_exp_map` (as in PyTorch3D, it warns with a
    PendingDeprecationWarning).

    Args:
        log_rot: (N, 3) axis times angle in radians.
        eps: as in :func:`so3_exp_map`.
    Returns:
        (N, 3, 3) rotation matrices.
    """
    warn(
        "so3_exponential_map is deprecated, use so3_exp_map instead; so3_exponential_map "
        "will be removed in a future release",
        R3DDeprecationWarning,
    )
    return so3_exp_map(log_rot, eps)


def so3_log_map(R: torch.Tensor, eps: float = 0.0001, cos_bound: float = 1e-4) -> torch.Tensor:
    """Logarithms of rotation matrices: the vectors whose :func:`so3_exp_map` is R.

    Computed through the quaternion of R, so it is accurate with finite gradients near
    angle 0 and near pi (where the axis sign is arbitrary at exactly pi).

    Args:
        R: (N, 3, 3) rotation matrices.
        eps: tolerance on the trace check: a trace outside [-1 - eps, 3 + eps] is an error.
        cos_bound: accepted for compatibility with PyTorch3D; not needed, as no arccos is used.
    Returns:
        (N, 3) axis times angle, the angle in [0, pi].
    """
    check_shape("so3_log_map", "R", R, [3, 3], batched=True)
    _check_trace("so3_log_map", R, eps)
    return matrix_to_axis_angle(R)


def so3_rotation_angle(
    R: torch.Tensor, eps: float = 1e-4, cos_angle: bool = False, cos_bound: float = 1e-4
) -> torch.Tensor:
    """Rotation angles of rotation matrices.

    The angle is atan2(sin, cos) of the skew-symmetric part and the trace of R, accurate for
    every angle (unlike arccos of the trace near 0 and pi); its gradient is 0 at angles 0 and pi
    exactly, where the angle is not differentiable.

    Args:
        R: (N, 3, 3) rotation matrices.
        eps: tolerance on the trace check: a trace outside [-1 - eps, 3 + eps] is an error.
        cos_angle: return the cosines of the angles, (trace - 1) / 2, instead.
        cos_bound: accepted for compatibility with PyTorch3D; not needed, as no arccos is used.
    Returns:
        (N,) angles in [0, pi] (or their cosines).
    """
    check_shape("so3_rotation_angle", "R", R, [3, 3], batched=True)
    cos = (_check_trace("so3_rotation_angle", R, eps) - 1) / 2
    if cos_angle:
        return cos
    sin = safe_norm(((R - R.transpose(1, 2)) / 2).reshape(-1, 9)) / 2**0.5
    return torch.atan2(sin, cos)


def so3_relative_angle(
    R1: torch.Tensor,
    R2: torch.Tensor,
    cos_angle: bool = False,
    cos_bound: float = 1e-4,
    eps: float = 1e-4,
) -> torch.Tensor:
    """Angles of the rotations R1 @ R2^T between pairs of rotations.

    Args:
        R1, R2: (N, 3, 3) rotation matrices.
        cos_angle, cos_bound, eps: as in :func:`so3_rotation_angle`.
    Returns:
        (N,) angles in [0, pi] (or their cosines).
    """
    check_shape("so3_relative_angle", "R1", R1, [3, 3], batched=True)
    check_shape("so3_relative_angle", "R2", R2, [3, 3], batched=True)
    if R1.shape != R2.shape:
        raise InputError(
            f"so3_relative_angle: R1 and R2 must have the same shape, got {list(R1.shape)} "
            f"and {list(R2.shape)}"
        )
    return so3_rotation_angle(
        R1 @ R2.transpose(1, 2), eps=eps, cos_angle=cos_angle, cos_bound=cos_bound
    )


def _check_trace(op: str, R: torch.Tensor, eps: float) -> torch.Tensor:
    """The traces (N,) of R after checking they lie in [-1 - eps, 3 + eps]."""
    trace = R.diagonal(dim1=-2, dim2=-1).sum(-1)
    bad = (trace < -1 - eps) | (trace > 3 + eps)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise InputError(
            f"{op}: R must hold rotation matrices, whose trace lies in [-1, 3] (to within "
            f"eps={eps}); matrix {i} has trace {float(trace[i])}"
        )
    return trace
