"""Argument checks and numerically stable helpers shared by the modules of r3d.transforms.

Everything the rotation conversions, SO(3) and SE(3) maps call is scriptable with
``torch.jit.script`` (as PyTorch3D's functions are): ``typing`` generics in signatures, no
closures, and Python-only checks behind ``torch.jit.is_scripting()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d._checks import describe
from r3d.errors import InputError

# Below this magnitude the power series replace the closed forms. At 0.05 the dropped terms are
# below 1e-17 relative, and above it the closed forms lose at most ~1e-13 to cancellation.
_SERIES_BELOW = 0.05


def check_shape(
    op: str, name: str, x: torch.Tensor, trailing: list[int], batched: bool = False
) -> None:
    """Raises InputError unless x is a floating-point tensor of shape (..., *trailing), or of
    shape (N, *trailing) when ``batched``. Scriptable (``torch.jit.script``): there the message
    gives the shape only, and the type check is the compiler's."""
    if not torch.jit.is_scripting() and not isinstance(x, torch.Tensor):
        raise InputError(
            f"{op}: {name} must be a floating-point tensor of shape (..., "
            f"{', '.join([str(t) for t in trailing])}), got {describe(x)}"
        )
    n = len(trailing)
    ok = (
        x.is_floating_point()
        and (x.dim() == n + 1 if batched else x.dim() >= n)
        and list(x.shape[x.dim() - n :]) == list(trailing)
    )
    if not ok:
        lead = "N" if batched else "..."
        expected = "(" + ", ".join([lead] + [str(t) for t in trailing]) + ")"
        got = f"a tensor of shape {list(x.shape)}"
        if not torch.jit.is_scripting():
            got = describe(x)
        raise InputError(
            f"{op}: {name} must be a floating-point tensor of shape {expected}, got {got}"
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


def _series(
    x: torch.Tensor, coeffs: list[float], below: float = _SERIES_BELOW
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where |x| < ``below``, sum_i coeffs[i] x^(2i), to replace a closed form of x there.

    Returns:
        the (...) mask of small values, the series, and x with its small values set to 1, for
        the closed form: it never sees the small values, so neither it nor its gradient
        divides by ~0.
    """
    small = x.abs() < below
    x2 = x * x
    series = torch.full_like(x, coeffs[-1])
    for i in range(len(coeffs) - 2, -1, -1):
        series = series * x2 + coeffs[i]
    return small, series, torch.where(small, torch.ones_like(x), x)


def sinc(x: torch.Tensor) -> torch.Tensor:
    """sin(x) / x (1 at 0), accurate with accurate gradients near 0. Any shape."""
    small, series, t = _series(x, [1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040])
    return torch.where(small, series, torch.sin(t) / t)


def x_minus_sin_over_cube(x: torch.Tensor) -> torch.Tensor:
    """(x - sin x) / x^3 (1/6 at 0), accurate with accurate gradients near 0. Any shape."""
    small, series, t = _series(x, [1.0 / 6, -1.0 / 120, 1.0 / 5040, -1.0 / 362880])
    return torch.where(small, series, (t - torch.sin(t)) / t**3)


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
