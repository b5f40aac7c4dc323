"""Point cloud rendering: rasterisation, compositing and renderers."""

from r3d.renderer.points.compositing import alpha_composite, norm_weighted_sum, weighted_sum
from r3d.renderer.points.compositor import AlphaCompositor, NormWeightedCompositor
from r3d.renderer.points.rasterize_points import rasterize_points, rasterize_points_torch
from r3d.renderer.points.rasterizer import (
    PointFragments,
    PointsRasterizationSettings,
    PointsRasterizer,
)
from r3d.renderer.points.renderer import PointsRenderer, PointsRendererWithFragments

__all__ = [
    "AlphaCompositor",
    "NormWeightedCompositor",
    "PointFragments",
    "PointsRasterizationSettings",
    "PointsRasterizer",
    "PointsRenderer",
    "PointsRendererWithFragments",
    "alpha_composite",
    "norm_weighted_sum",
    "rasterize_points",
    "rasterize_points_torch",
    "weighted_sum",
]
