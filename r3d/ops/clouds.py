"""Validation shared by the point-cloud ops: padded batches of clouds and their lengths."""

from __future__ import annotations

import torch

from r3d._checks import check_same_device, describe
from r3d.errors import InputError
from r3d.value_checks import checked_range, checks_now, expect, finite_now

# The pure-PyTorch searches hold at most this many query-to-point distances at once.
CHUNK_ELEMENTS = 1 << 22


def valid_points(lengths: torch.Tensor, P: int) -> torch.Tensor:
    """(N, P) bool: whether row p of padded cloud n is one of its lengths[n] points."""
    return torch.arange(P, device=lengths.device)[None, :] < lengths[:, None]


def zero_padding(points: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(N, P, D) points with the padded rows (p >= lengths[n]) set to 0, so that whatever they
    hold (NaN, inf) reaches no result nor gradient, as in the native kernels, which never read
    them."""
    return torch.where(valid_points(lengths, points.shape[1])[..., None], points, 0)


def check_points(
    op: str,
    name: str,
    points: torch.Tensor,
    lengths: torch.Tensor | None = None,
    lengths_name: str = "lengths",
) -> torch.Tensor:
    """Validates one padded batch of clouds and returns its lengths.

    Args:
        points: (N, P, D) float tensor, finite in the rows lengths marks valid.
        lengths: (N,) int64 in [0, P] on points' device, or None for full clouds.
        name, lengths_name: the arguments' names, for error messages.
    Returns:
        (N,) int64 lengths on points' device.
    """
    if not isinstance(points, torch.Tensor) or not points.is_floating_point() \
            or points.dim() != 3:
        raise InputError(
            f"{op}: {name} must be a float tensor of shape (N, P, D), got {describe(points)}"
        )
    N, P, _ = points.shape
    if lengths is None:  # (in range by construction)
        lengths = torch.full((N,), P, dtype=torch.int64, device=points.device)
    elif not isinstance(lengths, torch.Tensor) or lengths.dtype != torch.int64 \
            or lengths.shape != (N,) or lengths.device != points.device:
        raise InputError(
            f"{op}: {lengths_name} must be an int64 tensor of shape ({N},) on "
            f"{points.device}, got {describe(lengths)}"
        )
    else:
        lengths = checked_range(op, lengths_name, lengths, 0, P + 1)
    message = f"{name} contains NaN or infinite values"
    if not checks_now(points):
        # the padding rows may hold anything
        expect(op, (torch.isfinite(points).all(-1) | ~valid_points(lengths, P)).all(), message)
    # the whole tensor first (no copy), the valid rows only when that fails
    elif not finite_now(points) and not finite_now(points[valid_points(lengths, P)]):
        raise InputError(f"{op}: {message}")
    return lengths


def check_clouds(
    op: str,
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None,
    lengths2: torch.Tensor | None,
    names: tuple[str, str, str, str] = ("p1", "p2", "lengths1", "lengths2"),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validates a pair of padded batches (as :func:`check_points` each) and returns their lengths.

    Args:
        p1: (N, P1, D) and p2: (N, P2, D) float tensors of one dtype and device.
        lengths1, lengths2: (N,) int64 in [0, P1] / [0, P2], or None for full clouds.
        names: the caller's names of p1, p2, lengths1, lengths2, for error messages.
    Returns:
        lengths1, lengths2 as (N,) int64 tensors on the clouds' device.
    """
    n1, n2, nl1, nl2 = names
    for name, p in ((n1, p1), (n2, p2)):
        if not isinstance(p, torch.Tensor) or not p.is_floating_point() or p.dim() != 3:
            raise InputError(
                f"{op}: {name} must be a float tensor of shape (N, P, D), got {describe(p)}"
            )
    if p1.shape[0] != p2.shape[0] or p1.shape[2] != p2.shape[2]:
        raise InputError(
            f"{op}: {n1} and {n2} must share N and D, got shapes {tuple(p1.shape)} and "
            f"{tuple(p2.shape)}"
        )
    if p1.dtype != p2.dtype:
        raise InputError(f"{op}: {n1} and {n2} must have one dtype, got {p1.dtype} and {p2.dtype}")
    check_same_device(op, **{n1: p1, n2: p2})
    return check_points(op, n1, p1, lengths1, nl1), check_points(op, n2, p2, lengths2, nl2)
