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
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.value_checks import checked_range, expect

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
    pix_to_face = checked_range(_OP, "pix_to_face", pix_to_face, -1, max(F, 1))
    covered = pix_to_face >= 0
    # uncovered slots read a zero face appended at F: no face is read for them (even with
    # F = 0), and a NaN or inf attribute never meets their zero weight
    padded = torch.cat([face_attributes, face_attributes.new_zeros((1, 3, D))])
    attrs = padded[torch.where(covered, pix_to_face, F)]  # (N, H, W, K, 3, D)
    bary = torch.where(covered[..., None], barycentric_coords, 0)
    out = (bary[..., None] * attrs).sum(-2)
    expect(_OP, (torch.isfinite(out).all(-1) | ~covered).all(),
           "barycentric_coords or face_attributes contain NaN or infinite values at covered "
           "pixels")
    return out


@native_op("interpolate_face_attributes",
           lambda pix_to_face, bary, attrs: attrs.new_empty((pix_to_face.shape[0], attrs.shape[2])))
def interp_face_attrs_op(
    pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor
) -> torch.Tensor:
    """Native interpolation over flattened slots: pix_to_face (P,), bary (P, 3), attrs
    (F, 3, D) -> (P, D)."""
    return bridge.interp_face_attrs_forward(pix_to_face, bary, attrs)


def _fake_interp_grads(pix_to_face, bary, attrs, grad_out, need_bary, need_attrs):
    P = pix_to_face.shape[0] if need_bary else 0
    F = attrs.shape[0] if need_attrs else 0
    return bary.new_empty((P, 3)), attrs.new_empty((F, 3, attrs.shape[2]))


@native_op("interpolate_face_attributes_backward", _fake_interp_grads)
def interp_face_attrs_backward_op(
    pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor, grad_out: torch.Tensor,
    need_bary: bool, need_attrs: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward: grad_bary (P, 3) and grad_attrs (F, 3, D) (empty slots add their zeros
    to face 0), each with no rows when not asked for."""
    grad_bary, per_slot = bridge.interp_face_attrs_backward(
        pix_to_face, bary, attrs, grad_out.contiguous(), need_bary, need_attrs
    )
    grad_attrs = attrs.new_zeros((0, 3, attrs.shape[2]))
    if per_slot is not None:
        grad_attrs = torch.zeros_like(attrs).index_add_(0, pix_to_face.clamp(min=0), per_slot)
    return bary.new_empty((0, 3)) if grad_bary is None else grad_bary, grad_attrs


def _setup_interp(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _interp_backward(ctx, grad_out) -> tuple:
    pix_to_face, bary, attrs = ctx.saved_tensors
    _, need_bary, need_attrs = ctx.needs_input_grad
    grad_bary, grad_attrs = interp_face_attrs_backward_op(
        pix_to_face, bary, attrs, grad_out, need_bary, need_attrs
    )
    return None, grad_bary if need_bary else None, grad_attrs if need_attrs else None


interp_face_attrs_op.register_autograd(_interp_backward, setup_context=_setup_interp)


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
    if not use_native(face_attributes, _OP):
        return interpolate_face_attributes_torch(pix_to_face, barycentric_coords, face_attributes)
    shape = pix_to_face.shape
    out = in_float32(
        interp_face_attrs_op, pix_to_face.reshape(-1).contiguous(),
        barycentric_coords.reshape(-1, 3).contiguous(),
        face_attributes.contiguous(),
    )
    return out.reshape(*shape, face_attributes.shape[2])
