"""Pure-PyTorch point compositing: the test oracle of the native kernels and the fallback on
devices without them.

The three functions follow PyTorch3D's ``pytorch3d.renderer.compositing``: they blend the
features of the K points that a rasteriser found at each pixel (sorted front to back) with
per-slot weights ``alphas``. Slots whose index is -1 are empty: they contribute nothing, and in
alpha compositing they do not attenuate the slots behind them (PyTorch3D's kernels skip them).
"""

from __future__ import annotations

import torch

from r3d._checks import check_same_device, describe
from r3d.errors import InputError
from r3d.value_checks import checked_range

# Floor of norm_weighted_sum's denominator (PyTorch3D's; kCompositeEps in the kernels).
NORM_EPS = 1e-4


def check_composite_inputs(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> None:
    """Raises InputError naming the argument unless pointsidx is an int64 (N, K, H, W) tensor,
    alphas a float tensor of the same shape, pt_clds a (C, P) float tensor of alphas' dtype, all
    on one device (the range of pointsidx is checked by each implementation)."""
    if not isinstance(pointsidx, torch.Tensor) or pointsidx.dtype != torch.int64 or (
        pointsidx.dim() != 4
    ):
        raise InputError(
            f"{op}: pointsidx must be an int64 tensor of shape (N, K, H, W), got "
            f"{describe(pointsidx)}"
        )
    if (
        not isinstance(alphas, torch.Tensor)
        or not alphas.is_floating_point()
        or alphas.shape != pointsidx.shape
    ):
        raise InputError(
            f"{op}: alphas must be a float tensor of shape {tuple(pointsidx.shape)} (pointsidx's "
            f"shape), got {describe(alphas)}"
        )
    if not isinstance(pt_clds, torch.Tensor) or pt_clds.dim() != 2 or (
        pt_clds.dtype != alphas.dtype
    ):
        raise InputError(
            f"{op}: pt_clds must be a {alphas.dtype} tensor (alphas' dtype) of shape (C, P), got "
            f"{describe(pt_clds)}"
        )
    check_same_device(op, pointsidx=pointsidx, alphas=alphas, pt_clds=pt_clds)


def _slot_alphas(op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor):
    """Checks the inputs; returns alphas with zeros in the empty slots."""
    check_composite_inputs(op, pointsidx, alphas, pt_clds)
    pointsidx = checked_range(op, "pointsidx", pointsidx, -1, pt_clds.shape[1])
    return torch.where(pointsidx >= 0, alphas, 0)


def _blend(pointsidx: torch.Tensor, weights: torch.Tensor, pt_clds: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W): sum over k of weights[:, k] times the features of the points of slot k."""
    # empty slots (-1) read a zero column appended at P: no point is read for them (even
    # with P = 0), and a NaN or inf feature never meets their zero weight
    P = pt_clds.shape[1]
    padded = torch.cat([pt_clds, pt_clds.new_zeros((pt_clds.shape[0], 1))], 1)
    features = padded[:, torch.where(pointsidx >= 0, pointsidx, P)]  # (C, N, K, H, W)
    return torch.einsum("nkhw,cnkhw->nchw", weights, features)


def alpha_composite_torch(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Pure-PyTorch :func:`r3d.renderer.points.alpha_composite` (any device; differentiable)."""
    a = _slot_alphas("alpha_composite", pointsidx, alphas, pt_clds)
    # transmittance in front of slot k: prod_{j < k} (1 - a_j); empty slots have a = 0
    transmittance = torch.cumprod(torch.cat([torch.ones_like(a[:, :1]), 1 - a[:, :-1]], 1), 1)
    return _blend(pointsidx, a * transmittance, pt_clds)


def norm_weighted_sum_torch(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Pure-PyTorch :func:`r3d.renderer.points.norm_weighted_sum` (any device;
    differentiable)."""
    a = _slot_alphas("norm_weighted_sum", pointsidx, alphas, pt_clds)
    return _blend(pointsidx, a / a.sum(1, keepdim=True).clamp(min=NORM_EPS), pt_clds)


def weighted_sum_torch(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Pure-PyTorch :func:`r3d.renderer.points.weighted_sum` (any device; differentiable)."""
    return _blend(pointsidx, _slot_alphas("weighted_sum", pointsidx, alphas, pt_clds), pt_clds)
