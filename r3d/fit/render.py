"""Rendering a fitted model (a mesh, a point cloud, a volume or a field) with the shared run
renderers or by ray marching."""

from __future__ import annotations

import torch

from r3d.fit.fields import FieldModel, VolumeModel
from r3d.fit.model import PointsModel
from r3d.fit.rays import render_image
from r3d.renderer import CamerasBase
from r3d.runs.rendering import (
    Rendered,
    RendererSpec,
    render_mesh_display,
    render_points,
    render_soft,
)
from r3d.structures import Meshes


def render_model(model, cameras: CamerasBase, spec: RendererSpec, image_size: tuple[int, int],
                 rgb: bool, depth: bool) -> Rendered:
    """The soft render of a fitted model (mesh or point cloud; depth only for meshes)."""
    if isinstance(model, PointsModel):
        return render_points(model.points, model.rgb(), model.opacity(), cameras, spec,
                             image_size)
    return render_soft(model.meshes(), cameras, spec, image_size, rgb=rgb, depth=depth)


@torch.no_grad()
def render_display(model, cameras: CamerasBase, image_size: tuple[int, int],
                   spec: RendererSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Renders of a fitted model (or a Meshes) from n cameras: colours (n, H, W, 3) over black
    and masks (n, H, W) in {0, 1}. Meshes are rasterised hard (unlit when they have colours,
    else grey lit from the camera), point clouds splatted with ``spec`` (mask: coverage above
    one half), volumes and fields ray marched (mask: opacity above one half)."""
    if isinstance(model, (VolumeModel, FieldModel)):
        rgb, alpha = render_image(model, cameras, image_size)
        return rgb, (alpha > 0.5).float()
    if isinstance(model, PointsModel):
        r = render_model(model, cameras, spec, image_size, rgb=True, depth=False)
        return r.rgb, (r.alpha > 0.5).float()
    mesh = model if isinstance(model, Meshes) else model.meshes()
    return render_mesh_display(mesh, cameras, image_size)
