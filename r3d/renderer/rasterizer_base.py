"""What the mesh and point rasterisers share: the cameras and settings they hold, and the
projection of world points to NDC x, y with view-space depth z."""

from __future__ import annotations

import torch

from r3d.errors import InputError


class RasterizerBase(torch.nn.Module):
    """Base of :class:`MeshRasterizer` and :class:`PointsRasterizer`.

    Args:
        cameras: a batch of 1 or N cameras (N: one per item); may instead be passed to forward.
        raster_settings: the subclass's settings (``settings_type()`` defaults when None).
    """

    settings_type: type
    item: str  # what a batch item is called in error messages

    def __init__(self, cameras=None, raster_settings=None):
        super().__init__()
        self.cameras = cameras
        self.raster_settings = raster_settings or self.settings_type()

    def to(self, device):
        """Moves the cameras to ``device``."""
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        return super().to(device)

    def _cameras(self, kwargs: dict):
        """``kwargs["cameras"]`` or the stored cameras; InputError when neither is given."""
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            name = type(self).__name__
            raise InputError(
                f"{name}: cameras are required: pass them to {name}(cameras=...) or to "
                "forward(..., cameras=...)"
            )
        return cameras

    def _project(self, points: torch.Tensor, kwargs: dict) -> torch.Tensor:
        """World points (N, P, 3) to NDC x, y (+X left, +Y up) and view-space depth z,
        (N, P, 3), with ``kwargs``' ``cameras`` (1 or N), ``eps`` (clamp of the perspective
        divisor) and overrides of the cameras' parameters (``R=``, ``T=``, ``fov=``, ...; see
        :mod:`r3d.renderer.cameras`: R and T are stored on the cameras, as in PyTorch3D)."""
        cameras = self._cameras(kwargs)
        if len(cameras) not in (1, len(points)):
            raise InputError(
                f"{type(self).__name__}: cameras must hold 1 or {len(points)} cameras (one per "
                f"{self.item}), got {len(cameras)}"
            )
        eps = kwargs.get("eps")
        names = cameras.parameter_names()
        overrides = {k: v for k, v in kwargs.items() if k in names}
        view = cameras.get_world_to_view_transform(**overrides).transform_points(points, eps=eps)
        ndc = cameras.transform_points_ndc(points, eps=eps, **overrides)
        return torch.cat([ndc[..., :2], view[..., 2:]], dim=-1)
