"""Point-cloud rasterisation with cameras: settings, outputs and the PointsRasterizer module,
with PyTorch3D's names and fields."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.points.rasterize_points import rasterize_points
from r3d.renderer.rasterizer_base import RasterizerBase
from r3d.structures.fragments import PointFragments
from r3d.structures.pointclouds import Pointclouds


@dataclass
class PointsRasterizationSettings:
    """Settings of point-cloud rasterisation (PyTorch3D's fields and defaults).

    Attributes:
        image_size: H = W as an int, or (H, W).
        radius: radius of each point's disc in NDC units: a float, or a per-point tensor
            (packed (P,) or padded (N, max P_i)).
        points_per_pixel: K, the nearest points kept per pixel.
        bin_size: side of the native kernels' screen bins in pixels (see rasterize_points);
            None: automatic, 0: naive.
        max_points_per_bin: accepted for compatibility; r3d's bins never drop points.
    """

    image_size: int | tuple[int, int] = 256
    radius: float | torch.Tensor = 0.01
    points_per_pixel: int = 8
    bin_size: int | None = None
    max_points_per_bin: int | None = None


class PointsRasterizer(RasterizerBase):
    """Projects point clouds with cameras and rasterises them (PyTorch3D's PointsRasterizer).

    Args:
        cameras: a batch of 1 or N cameras (N: one per cloud); may instead be passed to forward.
        raster_settings: :class:`PointsRasterizationSettings` (defaults when None).

    ``forward(point_clouds, cameras=..., raster_settings=..., eps=...)`` overrides the stored
    cameras and settings for one call; the cameras' parameters may be given too (``R=``,
    ``T=``, ``fov=``, ...; R and T then stay on the cameras, as in PyTorch3D: see
    :mod:`r3d.renderer.cameras`). Other keywords are left to the shader or compositor.
    """

    settings_type = PointsRasterizationSettings
    item = "cloud"

    def transform(self, point_clouds: Pointclouds, **kwargs) -> Pointclouds:
        """The clouds with points in NDC (x, y) and view-space depth (z).

        Args:
            point_clouds: N clouds in world space.
            kwargs: ``cameras`` (1 or N), ``eps`` (clamp of the perspective divisor) and
                the cameras' parameters for this call.
        Returns:
            Pointclouds sharing normals and features, points (N, max P_i, 3) projected.
        """
        if not isinstance(point_clouds, Pointclouds):
            raise InputError(
                f"PointsRasterizer: point_clouds must be a Pointclouds, got "
                f"{describe(point_clouds)}"
            )
        return point_clouds.update_padded(self._project(point_clouds.points_padded(), kwargs))

    def forward(self, point_clouds: Pointclouds, **kwargs) -> PointFragments:
        """Rasterises N clouds into N images: :class:`PointFragments` of (N, H, W, K) slots."""
        settings = kwargs.get("raster_settings", self.raster_settings)
        idx, zbuf, dists = rasterize_points(
            self.transform(point_clouds, **kwargs),
            image_size=settings.image_size,
            radius=settings.radius,
            points_per_pixel=settings.points_per_pixel,
            bin_size=settings.bin_size,
            max_points_per_bin=settings.max_points_per_bin,
        )
        return PointFragments(idx, zbuf, dists)
