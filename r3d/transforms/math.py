"""Scalar functions with gradients kept finite at the edges of their domain, and the cross
product rounded as r3d's native kernels round it."""

from __future__ import annotations

import math

import torch

from r3d.errors import InputError

__all__ = ["acos_linear_extrapolation", "cross"]

DEFAULT_ACOS_BOUND = 1.0 - 1e-4


def acos_linear_extrapolation(
    x: torch.Tensor,
    bounds: tuple[float, float] = (-DEFAULT_ACOS_BOUND, DEFAULT_ACOS_BOUND),
) -> torch.Tensor:
    """arccos(x) inside ``bounds``, continued by its tangent line beyond each bound.

    arccos has infinite slope at -1 and 1 and no value beyond; this function equals arccos on
    [lower, upper] and ``acos(b) - (x - b) / sqrt(1 - b^2)`` for the nearer bound b outside
    it, so values and gradients stay finite for any x (e.g. cosines that rounding pushed past
    1). x == bound takes the linear branch, which agrees with arccos there.

    Args:
        x: tensor of any shape.
        bounds: (lower, upper) with -1 < lower <= upper < 1.
    Returns:
        tensor of x's shape, dtype and device.
    """
    lower, upper = (float(b) for b in bounds)
    if lower > upper:
        raise InputError(
            f"acos_linear_extrapolation: bounds must satisfy lower <= upper, got {bounds}"
        )
    if lower <= -1.0 or upper >= 1.0:
        raise InputError(
            f"acos_linear_extrapolation: bounds must lie strictly inside (-1, 1), got {bounds}"
        )
    inner = torch.acos(x.clamp(lower, upper))
    below = _tangent(x, lower)
    above = _tangent(x, upper)
    return torch.where(x >= upper, above, torch.where(x <= lower, below, inner))


def _tangent(x: torch.Tensor, x0: float) -> torch.Tensor:
    """The tangent line of arccos at x0, evaluated at x."""
    return math.acos(x0) - (x - x0) / math.sqrt(1.0 - x0 * x0)


def cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a x b along the last dimension (size 3), each product rounded before the subtraction,
    as r3d's native kernels compute it (csrc builds with -ffp-contract=off). torch.cross may
    fuse a multiply and a subtraction, which makes a x a nonzero, so the pure-PyTorch twins of
    the kernels use this.

    Args:
        a, b: (..., 3) tensors (broadcast together).
    Returns:
        (..., 3) tensor.
    """
    ax, ay, az = a.unbind(-1)
    bx, by, bz = b.unbind(-1)
    return torch.stack((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx), -1)
