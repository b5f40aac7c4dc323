"""Bridge to the native kernels of rasterize_meshes: checks every tensor, allocates the outputs and
launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, emulated, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range, checked_segments


def _check_raster_settings(op: str, settings: tuple) -> tuple:
    """Checks the (N, H, W, K, blur_radius, perspective_correct, clip_barycentric_coords,
    cull_backfaces) tuple of a rasterize_meshes call."""
    if not isinstance(settings, tuple) or len(settings) != 8:
        raise InputError(f"{op}: settings must be a tuple of 8 values, got {settings!r}")
    N, H, W, K, blur_radius = settings[:5]
    if min(N, H, W) < 0 or K < 1 or not blur_radius >= 0:
        raise InputError(
            f"{op}: settings must have N, H, W >= 0, K >= 1 and blur_radius >= 0, got {settings}"
        )
    return settings


def rasterize_meshes_forward(
    face_verts: torch.Tensor,
    mesh_to_face_first_idx: torch.Tensor,
    num_faces_per_mesh: torch.Tensor,
    settings: tuple,
    bin_size: int,
    emulate_cuda: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native mesh rasterisation.

    Args:
        face_verts: (F, 3, 3) float32/float64 packed face corners (NDC x, y; view depth z),
            all finite.
        mesh_to_face_first_idx, num_faces_per_mesh: (N,) int64: mesh n's faces are
            [first[n], first[n] + num[n]), within [0, F].
        settings: (N, H, W, K, blur_radius, perspective_correct, clip_barycentric_coords,
            cull_backfaces).
        bin_size: side of the screen bins in pixels (0: chosen by the launcher; one covering
            the image: every pixel against every face). The CUDA launcher's bins are 8, 16 or
            32 pixels a side: it rounds bin_size down to one of them.
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        pix_to_face (N, H, W, K) int64, zbuf (N, H, W, K), bary (N, H, W, K, 3) and
        dists (N, H, W, K) of face_verts' dtype.
    """
    op = "rasterize_meshes"
    N, H, W, K = _check_raster_settings(op, settings)[:4]
    check_float(op, "face_verts", face_verts, (None, 3, 3))
    device = face_verts.device
    check(op, "mesh_to_face_first_idx", mesh_to_face_first_idx, torch.int64, (N,), device)
    check(op, "num_faces_per_mesh", num_faces_per_mesh, torch.int64, (N,), device)
    num_faces = face_verts.shape[0]
    mesh_to_face_first_idx, num_faces_per_mesh = checked_segments(
        op, ("mesh_to_face_first_idx", "num_faces_per_mesh"), mesh_to_face_first_idx,
        num_faces_per_mesh, num_faces,
    )
    if bin_size < 0:
        raise InputError(f"{op}: bin_size must be >= 0, got {bin_size}")
    pix_to_face = torch.empty((N, H, W, K), dtype=torch.int64, device=device)
    zbuf = face_verts.new_empty((N, H, W, K))
    bary = face_verts.new_empty((N, H, W, K, 3))
    dists = face_verts.new_empty((N, H, W, K))
    if pix_to_face.numel():
        args = (
            DTYPE_NAMES[face_verts.dtype], addr(face_verts), addr(mesh_to_face_first_idx),
            addr(num_faces_per_mesh), tuple(settings), bin_size, addr(pix_to_face), addr(zbuf),
            addr(bary), addr(dists),
        )
        launch(emulated(op, "rasterize_meshes_forward", device, emulate_cuda), device, *args)
    return pix_to_face, zbuf, bary, dists


def rasterize_meshes_backward(
    face_verts: torch.Tensor,
    pix_to_face: torch.Tensor,
    grad_zbuf: torch.Tensor,
    grad_bary: torch.Tensor,
    grad_dists: torch.Tensor,
    settings: tuple,
    emulate_cuda: bool = False,
) -> torch.Tensor:
    """Native backward of :func:`rasterize_meshes_forward`.

    Args:
        face_verts: (F, 3, 3) as in the forward; settings: as in the forward.
        pix_to_face: (N, H, W, K) int64 in [-1, F), the forward's faces.
        grad_zbuf, grad_dists: (N, H, W, K) and grad_bary (N, H, W, K, 3) of face_verts' dtype.
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        (F, 3, 3): the gradient w.r.t. the corners of each face.
    """
    op = "rasterize_meshes backward"
    N, H, W, K = _check_raster_settings(op, settings)[:4]
    check_float(op, "face_verts", face_verts, (None, 3, 3))
    device, dtype = face_verts.device, face_verts.dtype
    check(op, "pix_to_face", pix_to_face, torch.int64, (N, H, W, K), device)
    pix_to_face = checked_range(op, "pix_to_face", pix_to_face, -1, face_verts.shape[0])
    check(op, "grad_zbuf", grad_zbuf, dtype, (N, H, W, K), device)
    check(op, "grad_bary", grad_bary, dtype, (N, H, W, K, 3), device)
    check(op, "grad_dists", grad_dists, dtype, (N, H, W, K), device)
    grad_face_verts = torch.zeros_like(face_verts)
    if pix_to_face.numel() and face_verts.shape[0]:
        launch(
            emulated(op, "rasterize_meshes_backward", device, emulate_cuda), device,
            DTYPE_NAMES[dtype], addr(face_verts),
            addr(pix_to_face), addr(grad_zbuf), addr(grad_bary), addr(grad_dists),
            tuple(settings), face_verts.shape[0], addr(grad_face_verts),
        )
    return grad_face_verts

