"""Bridge to the native kernels of interpolate_face_attributes: checks every tensor, allocates the
outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.value_checks import expect


def _check_interp_inputs(
    op: str, pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor
) -> tuple[int, int, int]:
    """Checks flattened fragments and face attributes; returns (P, F, D)."""
    check_float(op, "face_attributes", attrs, (None, 3, None))
    F, _, D = attrs.shape
    check(op, "pix_to_face", pix_to_face, torch.int64, (None,), attrs.device)
    P = pix_to_face.shape[0]
    check(op, "barycentric_coords", bary, attrs.dtype, (P, 3), attrs.device)
    return P, F, D


def _raise_interp_code(op: str, code: torch.Tensor, num_faces: int) -> None:
    """Turns the largest code an interpolate_face_attributes launcher met into an InputError
    (at once or deferred: :func:`r3d.value_checks.expect`)."""
    expect(op, code != 2, f"pix_to_face has values outside [-1, {num_faces - 1}] "  # kInterpBadFace
                          f"(face_attributes has {num_faces} faces)")
    expect(op, code != 1, "barycentric_coords or face_attributes contain NaN or infinite "
                          "values at covered pixels")  # kInterpNonFinite


def interp_face_attrs_forward(
    pix_to_face: torch.Tensor, bary: torch.Tensor, attrs: torch.Tensor
) -> torch.Tensor:
    """Native forward of interpolate_face_attributes on flattened fragments.

    The kernel checks pix_to_face's range itself (a separate pass over an image-sized index
    tensor would cost as much as the op) and never reads past ``attrs`` for a bad index.

    Args:
        pix_to_face: (P,) int64 packed face indices in [-1, F), -1 for empty slots.
        bary: (P, 3) barycentric coordinates, float32/float64.
        attrs: (F, 3, D) per-corner face attributes of bary's dtype.
    Returns:
        (P, D): the interpolated attributes, zero in empty slots.
    """
    op = "interpolate_face_attributes"
    P, F, D = _check_interp_inputs(op, pix_to_face, bary, attrs)
    out = attrs.new_empty((P, D))
    code = torch.zeros((), dtype=torch.int32, device=attrs.device)
    if P:
        launch(
            "interp_face_attrs_forward", attrs.device, DTYPE_NAMES[attrs.dtype],
            addr(pix_to_face), addr(bary), addr(attrs), (P, F, D), addr(out), addr(code),
        )
    _raise_interp_code(op, code, F)
    return out


def interp_face_attrs_backward(
    pix_to_face: torch.Tensor,
    bary: torch.Tensor,
    attrs: torch.Tensor,
    grad_out: torch.Tensor,
    need_bary: bool,
    need_attrs: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Native backward of :func:`interp_face_attrs_forward`.

    Args:
        pix_to_face, bary, attrs: as in the forward.
        grad_out: (P, D) of attrs' dtype.
        need_bary, need_attrs: which gradients to compute.
    Returns:
        grad_bary (P, 3) and grad_attrs_per_slot (P, 3, D), each slot's contribution to the
        gradient of its face's attributes (zero in empty slots), for the caller to scatter;
        None for a gradient not asked for.
    """
    op = "interpolate_face_attributes backward"
    P, F, D = _check_interp_inputs(op, pix_to_face, bary, attrs)
    check(op, "grad_out", grad_out, attrs.dtype, (P, D), attrs.device)
    grad_bary = attrs.new_empty((P, 3)) if need_bary else None
    per_slot = attrs.new_empty((P, 3, D)) if need_attrs else None
    code = torch.zeros((), dtype=torch.int32, device=attrs.device)
    if P and (need_bary or need_attrs):
        launch(
            "interp_face_attrs_backward", attrs.device, DTYPE_NAMES[attrs.dtype],
            addr(pix_to_face), addr(bary), addr(attrs), addr(grad_out), (P, F, D),
            0 if grad_bary is None else addr(grad_bary), 0 if per_slot is None else addr(per_slot),
            addr(code),
        )
    _raise_interp_code(op, code, F)
    return grad_bary, per_slot

