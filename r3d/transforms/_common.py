"""Argument checks and numerically stable helpers shared by the modules of r3d.transforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from r3d._checks import describe
from r3d.errors import InputError

# Below this magnitude the power series replace the closed forms. At 0.05 the dropped terms are
# below 1e-17 relative, and above it the closed forms lose at most ~1e-13 to cancellation.
_SERIES_BELOW = 0.05


def check_shape(
    op: str, name: str, x: object, trailing: Sequence[int], batched: bool = False
) -> None:
    """Raises InputError unless x is a floating-point tensor of shape (..., *trailing), or of
    shape (N, *trailing) when ``batched``."""
    n = len(trailing)
    ok = (
        isinstance(x, torch.Tensor)
        and x.is_floating_point()
        and (x.dim() == n + 1 if batched else x.dim() >= n)
        and tuple(x.shape[x.dim() - n :]) == tuple(trailing)
    )
    if not ok:
        lead = "N" if batched else "..."
        expected = "(" + ", ".join([lead, *map(str, trailing)]) + ")"
        raise InputError(
            f"{op}: {name} must be a floating-point tensor of shape {expected}, got {describe(x)}"
        )


def broadcast_batch(op: str, what: str, sizes: Sequence[int]) -> int:
    """The common batch size of ``sizes`` where 1 broadcasts; InputError if there is none."""
    distinct = set(sizes) - {1}
    if len(distinct) > 1:
        raise InputError(f"{op}: {what} must be equal or 1, got {list(sizes)}")
    return distinct.pop() if distinct else 1


def safe_norm(v: torch.Tensor, dim: int = -1, keepdim: bool = False) -> torch.Tensor:
    """Euclidean norm over ``dim`` whose gradient is 0 (not NaN) at the zero vector."""
    sq = (v * v).sum(dim, keepdim=keepdim)
    positive = sq > 0
    root = torch.sqrt(torch.where(positive, sq, torch.ones_like(sq)))
    return torch.where(positive, root, torch.zeros_like(sq))


def _series_or_closed_form(
    x: torch.Tensor, coeffs: Sequence[float], closed: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """sum_i coeffs[i] x^(2i) where |x| is small, closed(x) elsewhere, with finite gradients."""
    small = x.abs() < _SERIES_BELOW
    x2 = x * x
    series = torch.full_like(x, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        series = series * x2 + c
    # the closed form never sees the small values, so neither it nor its gradient divides by ~0
    return torch.where(small, series, closed(torch.where(small, torch.ones_like(x), x)))


def sinc(x: torch.Tensor) -> torch.Tensor:
    """sin(x) / x (1 at 0), accurate with accurate gradients near 0. Any shape."""
    return _series_or_closed_form(
        x, (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040), lambda t: torch.sin(t) / t
    )


def x_minus_sin_over_cube(x: torch.Tensor) -> torch.Tensor:
    """(x - sin x) / x^3 (1/6 at 0), accurate with accurate gradients near 0. Any shape."""
    return _series_or_closed_form(
        x, (1.0 / 6, -1.0 / 120, 1.0 / 5040, -1.0 / 362880), lambda t: (t - torch.sin(t)) / t**3
    )


def homogeneous(linear: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """Row-vector 4x4 matrices [[linear, 0], [translation, 1]].

    Args:
        linear: (N, 3, 3). translation: (N, 3).
    Returns:
        (N, 4, 4): ``linear`` in the top-left block, ``translation`` in the last row.
    """
    n = linear.shape[0]
    top = torch.cat([linear, linear.new_zeros(n, 3, 1)], dim=2)
    bottom = torch.cat([translation, translation.new_ones(n, 1)], dim=1)
    return torch.cat([top, bottom[:, None, :]], dim=1)
