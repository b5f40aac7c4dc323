"""Point-cloud rendering: rasterisation."""

from r3d.renderer.points.rasterize_points import rasterize_points, rasterize_points_torch
from r3d.renderer.points.rasterizer import (
    PointFragments,
    PointsRasterizationSettings,
    PointsRasterizer,
)

__all__ = [
    "PointFragments",
    "PointsRasterizationSettings",
    "PointsRasterizer",
    "rasterize_points",
    "rasterize_points_torch",
]
