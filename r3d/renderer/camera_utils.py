"""Camera helpers of PyTorch3D's ``pytorch3d.renderer.camera_utils``: ``rotate_on_spot`` and
``join_cameras_as_batch`` (defined in :mod:`r3d.renderer.cameras`)."""

from __future__ import annotations

import torch

from r3d.renderer.cameras import join_cameras_as_batch
from r3d.transforms._common import broadcast_batch, check_shape

__all__ = ["join_cameras_as_batch", "rotate_on_spot"]


def rotate_on_spot(
    R: torch.Tensor, T: torch.Tensor, rotation: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Extrinsics of cameras turned in place: same centres, view rotation followed by
    ``rotation``'s inverse.

    With PyTorch3D's row vectors (``X_view = X_world R + T``), the new camera has
    ``R' = R rotation^T`` and ``T' = T rotation^T``, so its centre ``-T R^T`` is unchanged and
    a point's view coordinates are the old ones times ``rotation^T``. For example
    ``rotation = axis_angle_to_matrix(torch.tensor([0, a, 0]))`` turns the camera right by a
    radians, ``[a, 0, 0]`` tilts it up and ``[0, 0, a]`` rolls it anticlockwise (the image turns
    clockwise). To move a camera by X in its own frame (X = [a, b, c]: a left, b up, c
    forward), use ``T - X`` instead.

    Args:
        R: (3, 3) or (N, 3, 3) rotations (world to view).
        T: (3,) or (N, 3) translations.
        rotation: (3, 3) or (n, 3, 3) rotations; N and n are equal or one of them is 1.
    Returns:
        R: (max(N, n), 3, 3), T: (max(N, n), 3).
    """
    op = "rotate_on_spot"
    R = R[None] if isinstance(R, torch.Tensor) and R.dim() == 2 else R
    T = T[None] if isinstance(T, torch.Tensor) and T.dim() == 1 else T
    rotation = rotation[None] if isinstance(rotation, torch.Tensor) and rotation.dim() == 2 \
        else rotation
    check_shape(op, "R", R, (3, 3), batched=True)
    check_shape(op, "T", T, (3,), batched=True)
    check_shape(op, "rotation", rotation, (3, 3), batched=True)
    n = broadcast_batch(op, "the batch sizes of R, T and rotation", [len(R), len(T), len(rotation)])
    turn = rotation.transpose(1, 2).expand(n, 3, 3)
    return R.expand(n, 3, 3) @ turn, (T[:, None, :].expand(n, 1, 3) @ turn)[:, 0]
