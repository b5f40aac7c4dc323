"""Bridge to the native kernels of the point compositors (alpha, weighted and normalised weighted
sums): checks every tensor, allocates the outputs and launches the CPU or CUDA launcher of
``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range, checks_now, expect

COMPOSITE_MODES = ("alpha_composite", "norm_weighted_sum", "weighted_sum")  # CompositeMode


def image_memory_format(t: torch.Tensor) -> torch.memory_format:
    """The layout in which the point compositing kernels take an (N, X, H, W) tensor like t:
    torch.channels_last for a permuted view of a contiguous (N, H, W, X) tensor (as renderers
    make from fragments), torch.contiguous_format otherwise."""
    if (
        isinstance(t, torch.Tensor)
        and t.dim() == 4
        and not t.is_contiguous()
        and t.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def is_points_major(features: torch.Tensor) -> bool:
    """Whether (C, P) features are the transpose of a contiguous (P, C) tensor (and not
    contiguous themselves), a layout the point compositing kernels take as it is."""
    return features.dim() == 2 and not features.is_contiguous() and features.t().is_contiguous()


def _check_composite(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor
) -> tuple:
    """Checks the inputs of a point compositing call; returns the launcher's shape tuple."""
    if op not in COMPOSITE_MODES:
        raise InputError(f"point compositing: op must be one of {COMPOSITE_MODES}, got {op!r}")
    points_major = isinstance(features, torch.Tensor) and is_points_major(features)
    # a points-major (C, P) tensor is checked as the contiguous (P, C) tensor it is
    check_float(op, "pt_clds", features.t() if points_major else features, (None, None))
    C, P = features.shape
    device, fmt = features.device, image_memory_format(pointsidx)
    check(op, "pointsidx", pointsidx, torch.int64, (None, None, None, None), device, fmt)
    N, K, H, W = pointsidx.shape
    check(op, "alphas", alphas, features.dtype, (N, K, H, W), device, fmt)
    return (N, K, H, W, C, P, COMPOSITE_MODES.index(op), fmt == torch.channels_last,
            points_major)


def composite_forward(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """Native point compositing (alpha_composite, norm_weighted_sum or weighted_sum).

    The kernel checks pointsidx's range itself (a separate pass over the image-sized index
    tensor would cost a good part of the op) and never reads past ``features`` for a bad index.

    Args:
        op: one of :data:`COMPOSITE_MODES`.
        pointsidx: (N, K, H, W) int64 packed point indices in [-1, P), -1 for empty slots;
            contiguous, or channels last (a permuted contiguous (N, H, W, K) tensor).
        alphas: (N, K, H, W) float32/float64 in pointsidx's layout.
        features: (C, P) of alphas' dtype, contiguous or the transpose of a contiguous (P, C).
    Returns:
        (N, C, H, W) images in pointsidx's layout.
    """
    shape = _check_composite(op, pointsidx, alphas, features)
    N, K, H, W, C = shape[:5]
    fmt = image_memory_format(pointsidx)
    out = torch.empty((N, C, H, W), dtype=features.dtype, device=features.device,
                      memory_format=fmt)
    code = torch.zeros((), dtype=torch.int32, device=features.device)
    if N * H * W:
        launch(
            "composite_forward", features.device, DTYPE_NAMES[features.dtype], addr(pointsidx),
            addr(alphas), addr(features), shape, addr(out), addr(code),
        )
    if not checks_now(code):
        expect(op, code == 0, f"pointsidx has values outside [-1, {shape[5] - 1}]")
    elif int(code):  # kCompositeBadIndex: let the range check name the values
        checked_range(op, "pointsidx", pointsidx, -1, shape[5])
    return out


def composite_backward(
    op: str,
    pointsidx: torch.Tensor,
    alphas: torch.Tensor,
    features: torch.Tensor,
    grad_out: torch.Tensor,
    need_alphas: bool,
    need_features: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Native backward of :func:`composite_forward`.

    Args:
        op, pointsidx, alphas, features: as in the forward.
        grad_out: (N, C, H, W) of features' dtype, in pointsidx's layout.
        need_alphas, need_features: which gradients to compute.
    Returns:
        grad_alphas (N, K, H, W) in pointsidx's layout (zero in empty slots) and grad_features
        (C, P) in features' layout; None for a gradient not asked for.
    """
    op_name = f"{op} backward"
    shape = _check_composite(op, pointsidx, alphas, features)
    N, K, H, W, C, P = shape[:6]
    fmt = image_memory_format(pointsidx)
    check(op_name, "grad_out", grad_out, features.dtype, (N, C, H, W), features.device, fmt)
    pointsidx = checked_range(op_name, "pointsidx", pointsidx, -1, P)
    grad_alphas = torch.empty_like(alphas, memory_format=fmt) if need_alphas else None
    grad_features = None
    if need_features:
        grad_features = (features.new_zeros((P, C)).t() if shape[8]
                         else features.new_zeros((C, P)))
    if N * H * W and (need_alphas or need_features):
        launch(
            "composite_backward", features.device, DTYPE_NAMES[features.dtype],
            addr(pointsidx), addr(alphas), addr(features), addr(grad_out), shape,
            0 if grad_alphas is None else addr(grad_alphas),
            0 if grad_features is None else addr(grad_features),
        )
    return grad_alphas, grad_features

