"""Point cloud renderers: a rasteriser and a compositor composed (PyTorch3D's
``PointsRenderer``)."""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError

__all__ = ["PointsRenderer", "PointsRendererWithFragments"]


def _squared_radius(radius, pointsidx: torch.Tensor, point_clouds) -> float | torch.Tensor:
    """The squared radius of the point of each slot: a number (or 0-d tensor) for one radius, or
    (N, K, H, W) for per-point radii given padded as (N, max P_i), as PyTorch3D takes them."""
    if not isinstance(radius, torch.Tensor) or radius.dim() == 0:
        return radius * radius
    lengths = point_clouds.num_points_per_cloud()
    shape = (len(point_clouds), int(lengths.max()) if len(lengths) else 0)
    if tuple(radius.shape) != shape:
        raise InputError(
            f"PointsRenderer: raster_settings.radius must be a number or a tensor of shape "
            f"{shape} (N, max points per cloud), got {describe(radius)}"
        )
    packed = radius.reshape(-1)[point_clouds.padded_to_packed_idx()]
    return packed[pointsidx.clamp(min=0)] ** 2


class PointsRenderer(torch.nn.Module):
    """``compositor(rasterizer(point_clouds))`` (PyTorch3D's PointsRenderer).

    Each fragment's weight is ``1 - d^2 / r^2`` (clamped at 0), d^2 being its squared NDC
    distance to its point (``fragments.dists``) and r the point's radius
    (``raster_settings.radius``: a number, or an (N, max P_i) tensor of per-point radii).

    Args:
        rasterizer: a point rasteriser: ``rasterizer(point_clouds, **kwargs)`` returns fragments
            with ``idx`` (N, H, W, K) packed point indices (-1 where empty) and ``dists``
            (N, H, W, K), and it has ``raster_settings`` with a ``radius``.
        compositor: e.g. :class:`AlphaCompositor`: ``compositor(pointsidx, weights, features,
            **kwargs)`` with (N, K, H, W) indices and weights and (C, P) features returns
            (N, C, H, W) images.

    ``forward(point_clouds, **kwargs)`` passes kwargs to the rasteriser and the compositor
    (``raster_settings=`` also sets the radius used for the weights) and returns the
    (N, H, W, C) images of the clouds' features (``point_clouds.features_packed()``, (P, C)).
    An r3d extension: ``point_opacity=`` a (P,) tensor of packed per-point opacities in [0, 1]
    multiplies each fragment's weight (points can fade out; gradients flow to it).
    """

    def __init__(self, rasterizer, compositor) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.compositor = compositor

    def to(self, device):
        """Moves the rasteriser (and its cameras) and the compositor."""
        self.rasterizer.to(device)
        self.compositor.to(device)
        return super().to(device)

    def _render(self, point_clouds, **kwargs):
        features = point_clouds.features_packed()
        if features is None:
            raise InputError("PointsRenderer: point_clouds must have features to render")
        opacity = kwargs.pop("point_opacity", None)
        if opacity is not None and (not isinstance(opacity, torch.Tensor)
                                    or tuple(opacity.shape) != (features.shape[0],)):
            raise InputError(f"PointsRenderer: point_opacity must be a tensor of shape "
                             f"({features.shape[0]},) (one per packed point), got "
                             f"{describe(opacity)}")
        fragments = self.rasterizer(point_clouds, **kwargs)
        settings = kwargs.get("raster_settings", self.rasterizer.raster_settings)
        # (N, H, W, K) -> (N, K, H, W) views: the compositing kernels take this layout as it is
        pointsidx = fragments.idx.long().permute(0, 3, 1, 2)
        dists2 = fragments.dists.permute(0, 3, 1, 2)
        r2 = _squared_radius(settings.radius, pointsidx, point_clouds)
        weights = (1 - dists2 / r2).clamp(min=0)
        if opacity is not None:
            weights = weights * opacity[pointsidx.clamp(min=0)]
        images = self.compositor(pointsidx, weights, features.permute(1, 0), **kwargs)
        return images.permute(0, 2, 3, 1), fragments

    def forward(self, point_clouds, **kwargs) -> torch.Tensor:
        """(N, H, W, C) images of the N point clouds."""
        return self._render(point_clouds, **kwargs)[0]


class PointsRendererWithFragments(PointsRenderer):
    """A :class:`PointsRenderer` whose forward returns ``(images, fragments)``."""

    def forward(self, point_clouds, **kwargs):
        """(N, H, W, C) images and the rasteriser's fragments."""
        return self._render(point_clouds, **kwargs)
