"""One similarity transform that aligns a batch of cameras with another (PyTorch3D's
``corresponding_cameras_alignment``).

Cameras follow PyTorch3D's row-vector convention: camera i maps a world point X to
``X R_i + T_i``. A similarity (R_A, T_A, s_A) of the world changes camera i to
``(R_A R_i, T_A R_i + s_A T_i)``: the camera that images the moved world as camera i imaged
the original, up to the global scale s_A.
"""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.ops.points_alignment import corresponding_points_alignment

__all__ = ["corresponding_cameras_alignment"]

_MODES = ("centers", "extrinsics")


def corresponding_cameras_alignment(
    cameras_src,
    cameras_tgt,
    estimate_scale: bool = True,
    mode: str = "extrinsics",
    eps: float = 1e-9,
):
    """``cameras_src`` moved by the similarity that best aligns them with ``cameras_tgt``.

    Modes:

    - ``"centers"``: the similarity that maps the source camera centres onto the target ones
      (:func:`corresponding_points_alignment`, no reflection), applied to the extrinsics.
    - ``"extrinsics"``: R_A is the rotation nearest to all ``R_A R_i = R_i'`` (the SVD of
      ``mean_i R_i R_i'^T``); s_A and T_A then solve ``T_A + s_A T_i R_i^T = T_i' R_i^T`` in
      the least-squares sense (s_A by matching the centred point sets, as PyTorch3D does).

    Either mode recovers a similarity exactly when the targets are the sources moved by one.
    The rotation is never a reflection.

    Args:
        cameras_src, cameras_tgt: N cameras each (any r3d camera class; the result has the
            class and intrinsics of cameras_src).
        estimate_scale: estimate s_A; otherwise s_A = 1 (a rigid alignment). With one camera
            the extrinsics mode cannot estimate a scale and uses 1.
        mode: "centers" or "extrinsics".
        eps: clamps the variances divided by when estimating the scale.
    Returns:
        cameras: the aligned source cameras, R (N, 3, 3) and T (N, 3) differentiable w.r.t. both
        inputs' R and T.
    """
    op = "corresponding_cameras_alignment"
    if mode not in _MODES:
        raise InputError(f"{op}: mode must be one of {_MODES}, got {describe(mode)}")
    R_src, R_tgt = cameras_src.R, cameras_tgt.R
    if R_src.shape != R_tgt.shape:
        raise InputError(
            f"{op}: cameras_src and cameras_tgt must hold the same number of cameras, got "
            f"{len(R_src)} and {len(R_tgt)}"
        )
    if mode == "centers":
        R_A, T_A, s_A = _align_centers(cameras_src, cameras_tgt, estimate_scale, eps)
    else:
        R_A, T_A, s_A = _align_extrinsics(cameras_src, cameras_tgt, estimate_scale, eps)
    R = R_A @ R_src
    T = (T_A[None, None, :] @ R_src)[:, 0] + s_A * cameras_src.T
    return cameras_src.with_pose(R, T)


def _align_centers(cameras_src, cameras_tgt, estimate_scale: bool, eps: float):
    """(R_A (3, 3), T_A (3,), s_A (0-d)) from the alignment of the camera centres.

    The centres move as points of the world do, C_i' = (s_A C_i - T_A) R_A^T, so the
    similarity Y = s X R + T found between them gives R_A = R^T and T_A = -T R_A."""
    fit = corresponding_points_alignment(
        cameras_src.get_camera_center()[None],
        cameras_tgt.get_camera_center()[None],
        estimate_scale=estimate_scale,
        allow_reflection=False,
        eps=eps,
    )
    R_A = fit.R[0].T
    return R_A, -fit.T[0] @ R_A, fit.s[0]


def _align_extrinsics(cameras_src, cameras_tgt, estimate_scale: bool, eps: float):
    """(R_A (3, 3), T_A (3,), s_A) from the rotations, then the translations, of the cameras."""
    R_src, R_tgt = cameras_src.R, cameras_tgt.R
    # R_A maximises trace(R_A^T sum_i R_i' R_i^T): R_A = V U^T for mean_i R_i R_i'^T = U S V^T
    U, _, Vh = torch.linalg.svd((R_src @ R_tgt.transpose(1, 2)).mean(0))
    V = Vh.T.clone()
    V[:, 2] = V[:, 2] * torch.linalg.det(Vh.T @ U.T).detach()  # no reflection
    R_A = V @ U.T
    # T_A + s_A A_i = B_i with A_i = T_i R_i^T, B_i = T_i' R_i^T (R_i the source rotations)
    A = (cameras_src.T[:, None, :] @ R_src.transpose(1, 2))[:, 0]
    B = (cameras_tgt.T[:, None, :] @ R_src.transpose(1, 2))[:, 0]
    A_mean, B_mean = A.mean(0), B.mean(0)
    if estimate_scale and len(A) > 1:
        A_c, B_c = A - A_mean, B - B_mean
        s_A = (A_c * B_c).mean() / (A_c * A_c).mean().clamp(min=eps)
    else:
        s_A = A.new_ones(())
    return R_A, B_mean - s_A * A_mean, s_A
