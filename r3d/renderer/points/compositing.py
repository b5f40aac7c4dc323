"""Point compositing: blending the features of the K points found at each pixel.

``alpha_composite``, ``norm_weighted_sum`` and ``weighted_sum`` follow PyTorch3D's signatures and
semantics (``pytorch3d.renderer.compositing``). On CPU and CUDA the native kernels run (forward
and backward, parallel over pixels); elsewhere the pure-PyTorch twins of
:mod:`r3d.renderer.points.compositing_torch`, which are also the test oracle.

The kernels take the (N, K, H, W) fragments either contiguous or as the permuted views of
(N, H, W, K) tensors that :class:`PointsRenderer` passes, and the (C, P) features either
contiguous or as the transpose of packed (P, C) features, without copying; their images and
gradients come out in the same layouts.
"""

from __future__ import annotations

import torch

from r3d._native import compositing as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.renderer.points.compositing_torch import (
    alpha_composite_torch,
    check_composite_inputs,
    norm_weighted_sum_torch,
    weighted_sum_torch,
)

__all__ = ["alpha_composite", "norm_weighted_sum", "weighted_sum"]

_TORCH = {
    "alpha_composite": alpha_composite_torch,
    "norm_weighted_sum": norm_weighted_sum_torch,
    "weighted_sum": weighted_sum_torch,
}


def _fake_image(mode, pointsidx, alphas, features):
    N, _, H, W = pointsidx.shape
    return features.new_empty((N, features.shape[0], H, W)).contiguous(
        memory_format=bridge.image_memory_format(pointsidx))


@native_op("composite", _fake_image)
def composite_op(
    mode: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """Native compositing (mode: alpha_composite, norm_weighted_sum or weighted_sum) of
    features (C, P) into (N, C, H, W) images, in pointsidx's layout."""
    return bridge.composite_forward(mode, pointsidx, alphas, features)


def _fake_composite_grads(mode, pointsidx, alphas, features, grad_out, need_alphas,
                          need_features):
    grad_alphas = torch.empty_like(alphas, memory_format=bridge.image_memory_format(pointsidx))
    C, P = features.shape
    grad_features = features.new_empty((P, C)).t() if bridge.is_points_major(features) \
        else features.new_empty((C, P))
    return grad_alphas if need_alphas else alphas.new_empty((0,)), \
        grad_features if need_features else features.new_empty((0,))


@native_op("composite_backward", _fake_composite_grads)
def composite_backward_op(
    mode: str, pointsidx: torch.Tensor, alphas: torch.Tensor, features: torch.Tensor,
    grad_out: torch.Tensor, need_alphas: bool, need_features: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward: grad_alphas (N, K, H, W) and grad_features (C, P), each an empty (0,)
    tensor when not asked for."""
    if grad_out.dim() == 4:  # else the bridge refuses its shape
        grad_out = grad_out.contiguous(memory_format=bridge.image_memory_format(pointsidx))
    grad_alphas, grad_features = bridge.composite_backward(
        mode, pointsidx, alphas, features, grad_out, need_alphas, need_features
    )
    return (alphas.new_empty((0,)) if grad_alphas is None else grad_alphas,
            features.new_empty((0,)) if grad_features is None else grad_features)


def _setup_composite(ctx, inputs, output) -> None:
    ctx.mode = inputs[0]
    ctx.save_for_backward(*inputs[1:])


def _composite_backward(ctx, grad_out) -> tuple:
    pointsidx, alphas, features = ctx.saved_tensors
    _, _, need_alphas, need_features = ctx.needs_input_grad
    grad_alphas, grad_features = composite_backward_op(
        ctx.mode, pointsidx, alphas, features, grad_out, need_alphas, need_features
    )
    return (None, None, grad_alphas if need_alphas else None,
            grad_features if need_features else None)


composite_op.register_autograd(_composite_backward, setup_context=_setup_composite)


def _composite(
    op: str, pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    check_composite_inputs(op, pointsidx, alphas, pt_clds)
    if not use_native(pt_clds, op):
        return _TORCH[op](pointsidx, alphas, pt_clds)
    fmt = bridge.image_memory_format(pointsidx)
    features = pt_clds if bridge.is_points_major(pt_clds) else pt_clds.contiguous()
    return in_float32(
        composite_op, op, pointsidx.contiguous(memory_format=fmt),
        alphas.contiguous(memory_format=fmt), features,
    )


def alpha_composite(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Front-to-back "over" compositing of the points of each pixel.

    ``image[n, :, y, x] = sum_k a_k prod_{j < k} (1 - a_j) pt_clds[:, pointsidx[n, k, y, x]]``
    over the non-empty slots (empty slots neither contribute nor attenuate).

    Args:
        pointsidx: (N, K, H, W) int64 packed index of the point in each slot, nearest first,
            -1 where empty.
        alphas: (N, K, H, W) float opacity of each slot, usually in [0, 1].
        pt_clds: (C, P) float features of the P packed points, of alphas' dtype and device.
    Returns:
        (N, C, H, W) images, zero where a pixel has no point. Differentiable w.r.t. alphas and
        pt_clds.

    Raises InputError naming the argument for a bad shape, dtype or device, and for indices
    outside [-1, P - 1].
    """
    return _composite("alpha_composite", pointsidx, alphas, pt_clds)


def norm_weighted_sum(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Features of the points of each pixel averaged with the weights alphas.

    ``image[n, :, y, x] = sum_k a_k pt_clds[:, pointsidx[n, k, y, x]] / max(sum_k a_k, 1e-4)``
    over the non-empty slots.

    Args and errors: as :func:`alpha_composite`.
    Returns:
        (N, C, H, W) images, zero where a pixel has no point.
    """
    return _composite("norm_weighted_sum", pointsidx, alphas, pt_clds)


def weighted_sum(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor
) -> torch.Tensor:
    """Features of the points of each pixel summed with the weights alphas.

    ``image[n, :, y, x] = sum_k a_k pt_clds[:, pointsidx[n, k, y, x]]`` over the non-empty slots.

    Args and errors: as :func:`alpha_composite`.
    Returns:
        (N, C, H, W) images, zero where a pixel has no point.
    """
    return _composite("weighted_sum", pointsidx, alphas, pt_clds)
