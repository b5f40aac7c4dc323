"""Per-face areas and unit normals of a packed triangle mesh."""

from __future__ import annotations

import torch

from r3d._checks import check_float_points, check_same_device
from r3d._native import mesh_normals as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.structures.utils import corners_to_verts
from r3d.transforms.math import cross
from r3d.value_checks import checked_range

NORMAL_EPS = 1e-6  # normals are n / max(|n|, NORMAL_EPS)


def mesh_face_areas_normals(
    verts: torch.Tensor, faces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Area and unit normal of every face.

    For face (i, j, k), n = (v_j - v_i) x (v_k - v_i); area = |n| / 2 and
    normal = n / max(|n|, 1e-6), so degenerate faces get a zero normal and no NaN.

    Args:
        verts: (V, 3) float tensor of packed vertex positions.
        faces: (F, 3) int64 tensor of packed vertex indices in [0, V).
    Returns:
        areas: (F,) tensor; normals: (F, 3) tensor. Differentiable w.r.t. ``verts``.
    """
    op = "mesh_face_areas_normals"
    check_float_points(op, "verts", verts)
    if verts.dim() != 2:
        raise InputError(f"{op}: verts must have shape (V, 3), got {tuple(verts.shape)}")
    if not isinstance(faces, torch.Tensor) or faces.dtype != torch.int64 or faces.dim() != 2 \
            or faces.shape[1] != 3:
        got = f"{faces.dtype} {tuple(faces.shape)}" if isinstance(faces, torch.Tensor) \
            else type(faces).__name__
        raise InputError(f"{op}: faces must be an int64 tensor of shape (F, 3), got {got}")
    check_same_device(op, verts=verts, faces=faces)
    if use_native(verts, op):
        return in_float32(face_areas_normals_op, verts, faces)
    return mesh_face_areas_normals_torch(verts, checked_range(op, "faces", faces, 0,
                                                              verts.shape[0]))


def mesh_face_areas_normals_torch(
    verts: torch.Tensor, faces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch mesh_face_areas_normals (any device; the oracle of the native kernel).

    Args:
        verts: (V, 3); faces: (F, 3) int64.
    Returns:
        areas (F,), normals (F, 3).
    """
    v0, v1, v2 = verts[faces].unbind(1)
    n = cross(v1 - v0, v2 - v0)
    length = n.norm(dim=1)
    return length / 2, n / length.clamp(min=NORMAL_EPS).unsqueeze(1)


@native_op("mesh_face_areas_normals", lambda verts, faces: (
    verts.new_empty((faces.shape[0],)), verts.new_empty((faces.shape[0], 3))))
def face_areas_normals_op(
    verts: torch.Tensor, faces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native areas (F,) and unit normals (F, 3) of packed faces."""
    return bridge.face_areas_normals_forward(verts.contiguous(), faces.contiguous(), NORMAL_EPS)


@native_op("mesh_face_areas_normals_backward",
           lambda verts, faces, grad_areas, grad_normals: torch.empty_like(verts))
def face_areas_normals_backward_op(
    verts: torch.Tensor, faces: torch.Tensor, grad_areas: torch.Tensor,
    grad_normals: torch.Tensor,
) -> torch.Tensor:
    """Native backward: the gradient w.r.t. verts (V, 3)."""
    verts, faces = verts.contiguous(), faces.contiguous()
    grad_corners = bridge.face_areas_normals_backward(
        verts, faces, grad_areas.contiguous(), grad_normals.contiguous(), NORMAL_EPS
    )
    return corners_to_verts(grad_corners, faces, verts.shape[0])


def _setup_face_areas_normals(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


face_areas_normals_op.register_autograd(
    # unused outputs' gradients arrive as zeros
    lambda ctx, grad_areas, grad_normals: (
        face_areas_normals_backward_op(*ctx.saved_tensors, grad_areas, grad_normals), None),
    setup_context=_setup_face_areas_normals,
)
