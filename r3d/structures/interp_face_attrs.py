"""Interpolating per-corner face attributes at rasterised fragments.

``interpolate_face_attributes`` follows PyTorch3D's signature and semantics. On CPU and CUDA the
native kernels run (forward and backward, parallel over fragment slots); elsewhere the
pure-PyTorch :func:`interpolate_face_attributes_torch`, which is also the test oracle.
"""

from __future__ import annotations

import torch

from r3d._checks import check_same_device, describe
from r3d._native import interp_face_attrs as bridge
from r3d._native import use_native
from r3d.errors import InputError

_OP = "interpolate_face_attributes"


def _check_inputs(
    pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, face_attributes: torch.Tensor
) -> None:
    if not isinstance(pix_to_face, torch.Tensor) or pix_to_face.dtype != torch.int64:
        raise InputError(f"{_OP}: pix_to_face must be an int64 tensor (N, H, W, K), got "
                         f"{describe(pix_to_face)}")
    if (
        not isinstance(barycentric_coords, torch.Tensor)
        or not barycentric_coords.is_floating_point()
        or barycentric_coords.shape != (*pix_to_face.shape, 3)
    ):
        raise InputError(
            f"{_OP}: barycentric_coords must be a float tensor of shape "
            f"{(*pix_to_face.shape, 3)} (pix_to_face's shape + (3,)), got "
            f"{describe(barycentric_coords)}"
        )
    if (
        not isinstance(face_attributes, torch.Tensor)
        or not face_attributes.is_floating_point()
        or face_attributes.dim() != 3
        or face_attributes.shape[1] != 3
    ):
        raise InputError(
            f"{_OP}: face_attributes must be a float tensor of shape (F, 3, D), got "
            f"{describe(face_attributes)}"
        )
    if barycentric_coords.dtype != face_attributes.dtype:
        raise InputError(
            f"{_OP}: barycentric_coords and face_attributes must have one dtype, got "
            f"{barycentric_coords.dtype} and {face_attributes.dtype}"
        )
    check_same_device(
        _OP, pix_to_face=pix_to_face, barycentric_coords=barycentric_coords,
        face_attributes=face_attributes,
    )


def interpolate_face_attributes_torch(
    pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, face_attributes: torch.Tensor
) -> torch.Tensor:
    """Pure-PyTorch :func:`interpolate_face_attributes` (any device; differentiable)."""
    _check_inputs(pix_to_face, barycentric_coords, face_attributes)
    F, _, D = face_attributes.shape
    if pix_to_face.numel() and (int(pix_to_face.min()) < -1 or int(pix_to_face.max()) >= F):
        raise InputError(
            f"{_OP}: pix_to_face has values outside [-1, {F - 1}] (face_attributes has {F} faces)"
        )
    covered = pix_to_face >= 0
    attrs = face_attributes[pix_to_face.clamp(min=0)]  # (N, H, W, K, 3, D)
    bary = torch.where(covered[..., None], barycentric_coords, 0)
    out = (bary[..., None] * attrs).sum(-2)
    if not bool(torch.isfinite(out[covered]).all()):
        raise InputError(
            f"{_OP}: barycentric_coords or face_attributes contain NaN or infinite values at "
            "covered pixels"
        )
    return out


class _InterpFaceAttrs(torch.autograd.Function):
    """Native forward and backward on the flattened slots."""

    @staticmethod
    def forward(ctx, pix_to_face, bary, attrs):
        out = bridge.interp_face_attrs_forward(pix_to_face, bary, attrs)
        ctx.save_for_backward(pix_to_face, bary, attrs)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        pix_to_face, bary, attrs = ctx.saved_tensors
        _, need_bary, need_attrs = ctx.needs_input_grad
        grad_bary, per_slot = bridge.interp_face_attrs_backward(
            pix_to_face, bary, attrs, grad_out.contiguous(), need_bary, need_attrs
        )
        grad_attrs = None
        if per_slot is not None:
            # empty slots contributed zeros; add them to face 0 rather than filtering them out
            grad_attrs = torch.zeros_like(attrs).index_add_(
                0, pix_to_face.clamp(min=0), per_slot
            )
        return None, grad_bary, grad_attrs


def interpolate_face_attributes(
    pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, face_attributes: torch.Tensor
) -> torch.Tensor:
    """Interpolates each fragment's face attributes with its barycentric coordinates.

    Args:
        pix_to_face: (N, H, W, K) int64 packed face index of each fragment, -1 where empty.
        barycentric_coords: (N, H, W, K, 3) float barycentric coordinates of the fragments.
        face_attributes: (F, 3, D) float attributes of the three corners of every packed face,
            of barycentric_coords' dtype and device.
    Returns:
        (N, H, W, K, D): ``sum_j bary[..., j] * face_attributes[pix_to_face, j]``, zero where
        pix_to_face is -1. Differentiable w.r.t. barycentric_coords and face_attributes.

    Raises InputError for face indices outside [-1, F - 1] and for NaN or infinite values met
    at covered fragments (values at empty fragments are never read).
    """
    _check_inputs(pix_to_face, barycentric_coords, face_attributes)
    if not use_native(face_attributes):
        return interpolate_face_attributes_torch(pix_to_face, barycentric_coords, face_attributes)
    shape = pix_to_face.shape
    out = _InterpFaceAttrs.apply(
        pix_to_face.reshape(-1).contiguous(),
        barycentric_coords.reshape(-1, 3).contiguous(),
        face_attributes.contiguous(),
    )
    return out.reshape(*shape, face_attributes.shape[2])
