"""Conversions between OpenCV's pinhole cameras and :class:`PerspectiveCameras`.

OpenCV: x_cam = R X + tvec (column vectors), x right, y down, z forward; a point projects to the
pixel (u, v, 1) ~ K x_cam with K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]. As in PyTorch3D, (u, v)
are taken as screen coordinates as they are (no half-pixel shift): (0, 0) is the top-left
corner of the image and (W / 2, H / 2) its centre.
r3d (PyTorch3D): X_view = X R' + T (row vectors), x left, y up: so R' = R^T diag(-1, -1, 1) and
T = diag(-1, -1, 1) tvec.
"""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import PerspectiveCameras, _broadcast, _image_size
from r3d.transforms._common import broadcast_batch

__all__ = ["cameras_from_opencv_projection", "opencv_from_cameras_projection"]

# Relative tolerance of the checks that an OpenCV camera matrix has no skew and [0, 0, 1] as
# its last row.
_PINHOLE_TOL = 1e-6


def _flip_xy(like: torch.Tensor) -> torch.Tensor:
    """(3,) tensor (-1, -1, 1) with like's dtype and device."""
    return torch.tensor([-1.0, -1.0, 1.0], dtype=like.dtype, device=like.device)


def _ndc_scale_and_centre(size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels per NDC unit (N, 1) and the image centre (N, 2) as (x, y) for (N, 2) sizes
    (height, width)."""
    return size.min(dim=1, keepdim=True).values / 2, size.flip(1) / 2


def cameras_from_opencv_projection(
    R: torch.Tensor, tvec: torch.Tensor, camera_matrix: torch.Tensor, image_size: torch.Tensor
) -> PerspectiveCameras:
    """NDC PerspectiveCameras that project like OpenCV cameras.

    Args:
        R: (N, 3, 3) OpenCV rotations (world to camera, column vectors).
        tvec: (N, 3) OpenCV translations.
        camera_matrix: (N, 3, 3) intrinsics K (in pixels, no skew).
        image_size: (N, 2) (height, width) in pixels.
        (Arguments of batch size 1 broadcast.)
    Returns:
        PerspectiveCameras in NDC with ``image_size``; their ``transform_points_screen`` gives
        OpenCV's pixel coordinates.
    """
    op = "cameras_from_opencv_projection"
    specs = {
        "R": (R, (3, 3)),
        "tvec": (tvec, (3,)),
        "camera_matrix": (camera_matrix, (3, 3)),
        "image_size": (image_size, (2,)),
    }
    p = _broadcast(op, specs)
    K = p["camera_matrix"]
    fx, fy = K[:, 0, 0], K[:, 1, 1]
    last_row = torch.tensor([0.0, 0.0, 1.0], dtype=K.dtype, device=K.device)
    bad_last_row = (K[:, 2] - last_row).abs().amax(dim=1) > _PINHOLE_TOL
    skewed = K[:, [0, 1], [1, 0]].abs().amax(dim=1) > _PINHOLE_TOL * torch.maximum(fx, fy).abs()
    if bool((bad_last_row | skewed).any()):
        raise InputError(
            f"{op}: camera_matrix must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew), "
            f"got {K[bad_last_row | skewed][0].tolist()}"
        )
    scale, centre = _ndc_scale_and_centre(p["image_size"])
    flip = _flip_xy(K)
    return PerspectiveCameras(
        focal_length=torch.stack([fx, fy], dim=1) / scale,
        principal_point=(centre - K[:, :2, 2]) / scale,
        R=p["R"].transpose(1, 2) * flip,
        T=p["tvec"] * flip,
        image_size=p["image_size"],
    )


def opencv_from_cameras_projection(
    cameras: PerspectiveCameras, image_size: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """OpenCV's R, tvec and camera matrix of PerspectiveCameras (in NDC or in screen space).

    Args:
        cameras: N PerspectiveCameras (a custom K is read like the one they build).
        image_size: (2,) or (N, 2) (height, width) of the images of NDC cameras; default: the
            cameras' image_size. Screen-space cameras are already in pixels and ignore it.
    Returns:
        R (N, 3, 3), tvec (N, 3), camera_matrix (N, 3, 3).
    """
    op = "opencv_from_cameras_projection"
    if not isinstance(cameras, PerspectiveCameras):
        raise InputError(f"{op}: cameras must be PerspectiveCameras, got {describe(cameras)}")
    M = cameras.get_projection_transform().get_matrix()
    focal = torch.stack([M[:, 0, 0], M[:, 1, 1]], dim=1)
    principal = cameras.get_principal_point()
    if cameras.in_ndc():
        size = cameras.get_image_size() if image_size is None else image_size
        size = _image_size(op, size, cameras)
        broadcast_batch(op, "the batch sizes of image_size and cameras", [len(size), len(M)])
        scale, centre = _ndc_scale_and_centre(size)
        focal, principal = focal * scale, centre - principal * scale
    camera_matrix = M.new_zeros(len(M), 3, 3)
    camera_matrix[:, 0, 0], camera_matrix[:, 1, 1] = focal.unbind(1)
    camera_matrix[:, :2, 2] = principal
    camera_matrix[:, 2, 2] = 1.0
    flip = _flip_xy(M)
    return (cameras.R * flip).transpose(1, 2), cameras.T * flip, camera_matrix
