"""Ready-made meshes, and PyTorch3D's ``pytorch3d.utils`` camera conversions."""

from r3d.utils.camera_conversions import (
    cameras_from_opencv_projection,
    opencv_from_cameras_projection,
)
from r3d.utils.checkerboard import checkerboard
from r3d.utils.ico_sphere import ico_sphere
from r3d.utils.torus import torus

__all__ = [
    "cameras_from_opencv_projection",
    "checkerboard",
    "ico_sphere",
    "opencv_from_cameras_projection",
    "torus",
]
