"""Rendering the volume and field models of ``r3d fit`` by ray marching: random rays of the
training views with the pixels they hit (each iteration), whole images (scores, pictures), and
where the cube they fill lies when the recipe says ``auto``.

A model's rays go from ``near`` to ``far`` (its :class:`RaySpan`, set when the fit starts by
:func:`ray_span`): across the ball inscribed in its cube from the nearest and the farthest view.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d.fit.fields import FieldModel, RaySpan, VolumeModel
from r3d.renderer import CamerasBase
from r3d.renderer.implicit import (
    EmissionAbsorptionRaymarcher,
    ImplicitRenderer,
    MonteCarloRaysampler,
    NDCMultinomialRaysampler,
    VolumeRenderer,
)

__all__ = ["auto_cube", "ray_span", "render_image", "render_rays", "sample_pixels"]

_MARCHER = EmissionAbsorptionRaymarcher()


def auto_cube(cameras: CamerasBase) -> tuple[torch.Tensor, float]:
    """(centre (3,), side) of a cube the views look at: the point nearest every camera's view
    axis (least squares), and the distance of the nearest camera to it."""
    R = cameras.R.double()
    origins = cameras.get_camera_center().double()  # (n, 3)
    axes = R[:, :, 2]  # (n, 3) each camera's +Z (its view direction) in the world
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    proj = eye - axes[:, :, None] * axes[:, None, :]  # (n, 3, 3)
    A, b = proj.sum(0), (proj @ origins[..., None]).sum(0)
    center = torch.linalg.lstsq(A, b).solution[:, 0]
    side = float((origins - center).norm(dim=1).min())
    return center.to(cameras.R.dtype), side


def ray_span(cameras: CamerasBase, center: torch.Tensor, side: float, points: int) -> RaySpan:
    """The depths between which the rays of ``cameras`` cross the ball of diameter ``side``
    about ``center`` (at least a small positive near)."""
    dist = (cameras.get_camera_center() - center).norm(dim=1)
    near = max(float(dist.min()) - side / 2, 1e-3 * side)
    return RaySpan(near=near, far=float(dist.max()) + side / 2, points=points)


def _ndc_extent(image_size: tuple[int, int]) -> tuple[float, float]:
    """NDC half-extents (x, y) of an image (H, W): the shorter side spans [-1, 1]."""
    H, W = image_size
    return max(W / H, 1.0), max(H / W, 1.0)


def _render(model: VolumeModel | FieldModel, cameras: CamerasBase, raysampler
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(colours (n, ..., 3), opacities (n, ...)) and the rays' NDC xys (n, ..., 2)."""
    if isinstance(model, VolumeModel):
        images, bundle = VolumeRenderer(raysampler, _MARCHER)(
            cameras=cameras, volumes=model.volumes(len(cameras)))
    else:
        images, bundle = ImplicitRenderer(raysampler, _MARCHER)(
            cameras=cameras, volumetric_function=model)
    return images, bundle.xys


def render_rays(model: VolumeModel | FieldModel, cameras: CamerasBase,
                image_size: tuple[int, int], rays: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Renders ``rays`` random rays per camera through the images (H, W): colours
    (n, rays, 3) over black, opacities (n, rays) and the rays' NDC xys (n, rays, 2)."""
    ex, ey = _ndc_extent(image_size)
    span = model.span
    sampler = MonteCarloRaysampler(-ex, ex, -ey, ey, rays, span.points, span.near, span.far,
                                   stratified_sampling=True)
    images, xys = _render(model, cameras, sampler)
    return images[..., :3], images[..., 3], xys


def sample_pixels(images: torch.Tensor, xys: torch.Tensor) -> torch.Tensor:
    """Bilinear samples (n, rays, C) of images (n, H, W, C) at NDC points xys (n, rays, 2)
    (+X left, +Y up, the shorter side spanning [-1, 1])."""
    ex, ey = _ndc_extent(images.shape[1:3])
    grid = torch.stack([-xys[..., 0] / ex, -xys[..., 1] / ey], dim=-1)
    out = F.grid_sample(images.permute(0, 3, 1, 2), grid[:, :, None], align_corners=False)
    return out[..., 0].permute(0, 2, 1)


def render_image(model: VolumeModel | FieldModel, cameras: CamerasBase,
                 image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole images of n cameras, one at a time: colours (n, H, W, 3) over black and opacities
    (n, H, W)."""
    H, W = image_size
    span = model.span
    sampler = NDCMultinomialRaysampler(image_width=W, image_height=H, n_pts_per_ray=span.points,
                                       min_depth=span.near, max_depth=span.far)
    rgb, alpha = [], []
    for i in range(len(cameras)):
        images, _ = _render(model, cameras[[i]], sampler)
        rgb.append(images[..., :3])
        alpha.append(images[..., 3])
    return torch.cat(rgb), torch.cat(alpha)
