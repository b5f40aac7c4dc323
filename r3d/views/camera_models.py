"""A folder's cameras as read, before they are built: OpenCV pinhole cameras (:class:`PinholeModel`)
or FoV perspective ones (:class:`FoVModel`), each resizable to a resampled image size and built
into r3d cameras at the end of loading."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from r3d.renderer.camera_conversions import cameras_from_opencv_projection
from r3d.renderer.cameras import FoVPerspectiveCameras, PerspectiveCameras


@dataclass
class PinholeModel:
    """OpenCV cameras: world-to-camera R (V, 3, 3), tvec (V, 3), pixel intrinsics K (V, 3, 3)."""

    R: np.ndarray
    tvec: np.ndarray
    K: np.ndarray

    def resized(self, old: tuple[int, int], new: tuple[int, int]) -> PinholeModel:
        """The same cameras for the image resampled from ``old`` to ``new`` (H, W): pixel
        coordinates scale by W'/W along x and H'/H along y."""
        K = self.K.copy()
        K[:, 0] *= new[1] / old[1]
        K[:, 1] *= new[0] / old[0]
        return PinholeModel(self.R, self.tvec, K)

    def build(self, size: tuple[int, int], device: torch.device | str) -> PerspectiveCameras:
        def t(a):
            return torch.tensor(a, dtype=torch.float32, device=device)

        return cameras_from_opencv_projection(t(self.R), t(self.tvec), t(self.K), t([size]))


@dataclass
class FoVModel:
    """FoVPerspectiveCameras: R (V, 3, 3), T (V, 3); fov (V,) in degrees, znear, zfar and
    aspect_ratio (V,)."""

    R: np.ndarray
    T: np.ndarray
    fov: np.ndarray
    znear: np.ndarray
    zfar: np.ndarray
    aspect_ratio: np.ndarray

    def resized(self, old: tuple[int, int], new: tuple[int, int]) -> FoVModel:
        """The same cameras for the image resampled from ``old`` to ``new`` (H, W).

        A view point's pixel is u = W / 2 - s x_ndc, v = H / 2 - s y_ndc (s: half the shorter
        side); resampling scales u by sx = W'/W and v by sy = H'/H, so tan(fov / 2) scales by
        (s' / s) / sy and aspect_ratio by sy / sx (no change when the size scales exactly).
        """
        sy, sx = new[0] / old[0], new[1] / old[1]
        ratio = min(new) / min(old)
        tan = np.tan(np.deg2rad(self.fov) / 2) * ratio / sy
        return FoVModel(self.R, self.T, np.rad2deg(2 * np.arctan(tan)), self.znear, self.zfar,
                    self.aspect_ratio * sy / sx)

    def build(self, size: tuple[int, int], device: torch.device | str) -> FoVPerspectiveCameras:
        def t(a):
            return torch.tensor(a, dtype=torch.float32, device=device)

        return FoVPerspectiveCameras(znear=t(self.znear), zfar=t(self.zfar),
                                     aspect_ratio=t(self.aspect_ratio), fov=t(self.fov),
                                     degrees=True, R=t(self.R), T=t(self.T), device=device)


Cameras = PinholeModel | FoVModel
