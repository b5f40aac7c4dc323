"""PyTorch3D's ``pytorch3d.utils.camera_conversions`` names: the OpenCV camera conversions
(defined in :mod:`r3d.renderer.camera_conversions`)."""

from r3d.renderer.camera_conversions import (
    cameras_from_opencv_projection,
    opencv_from_cameras_projection,
)

__all__ = ["cameras_from_opencv_projection", "opencv_from_cameras_projection"]
