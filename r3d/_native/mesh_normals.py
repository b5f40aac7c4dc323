"""Bridge to the native kernels of mesh_face_areas_normals: checks every tensor, allocates the
outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.value_checks import checked_range


def face_areas_normals_forward(
    verts: torch.Tensor, faces: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native forward of mesh_face_areas_normals.

    Args:
        verts: (V, 3) float32/float64, contiguous.
        faces: (F, 3) int64 with values in [0, V), contiguous, same device.
    Returns:
        areas (F,) and normals (F, 3), both of verts' dtype.
    """
    op = "mesh_face_areas_normals"
    check_float(op, "verts", verts, (None, 3))
    check(op, "faces", faces, torch.int64, (None, 3), verts.device)
    faces = checked_range(op, "faces", faces, 0, verts.shape[0])
    num_faces = faces.shape[0]
    areas = verts.new_empty((num_faces,))
    normals = verts.new_empty((num_faces, 3))
    launch(
        "face_areas_normals_forward", verts.device, DTYPE_NAMES[verts.dtype], addr(verts),
        addr(faces), num_faces, addr(areas), addr(normals), eps,
    )
    return areas, normals


def face_areas_normals_backward(
    verts: torch.Tensor,
    faces: torch.Tensor,
    grad_areas: torch.Tensor,
    grad_normals: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    """Native backward of mesh_face_areas_normals.

    Args:
        verts: (V, 3), faces: (F, 3) as in the forward.
        grad_areas: (F,) and grad_normals: (F, 3), of verts' dtype.
    Returns:
        grad_corners (F, 3, 3): the gradient w.r.t. each face's three corner positions.
    """
    op = "mesh_face_areas_normals backward"
    check_float(op, "verts", verts, (None, 3))
    check(op, "faces", faces, torch.int64, (None, 3), verts.device)
    faces = checked_range(op, "faces", faces, 0, verts.shape[0])
    num_faces = faces.shape[0]
    check(op, "grad_areas", grad_areas, verts.dtype, (num_faces,), verts.device)
    check(op, "grad_normals", grad_normals, verts.dtype, (num_faces, 3), verts.device)
    grad_corners = verts.new_empty((num_faces, 3, 3))
    launch(
        "face_areas_normals_backward", verts.device, DTYPE_NAMES[verts.dtype], addr(verts),
        addr(faces), num_faces, addr(grad_areas), addr(grad_normals), addr(grad_corners), eps,
    )
    return grad_corners

