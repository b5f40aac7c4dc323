"""Rendering shapes for runs: soft renders for the losses, hard ones for scores and pictures.

Point clouds are splatted (discs of NDC ``radius``, weights ``1 - d^2 / r^2``) and
alpha-composited over a transparent black background, for the losses and the pictures alike:
the coverage channel is the composite of a constant 1 feature.

Soft mesh renders use PyTorch3D's soft rasteriser: faces within the blur radius at which the
coverage ``sigmoid(-d / sigma)`` falls to :data:`MIN_COVERAGE` are kept (K per pixel) and
blended; colours are unlit (ambient light 1), so fitted colours are the images' own colours
with their shading baked in, over a black background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from r3d.renderer import (
    AmbientLights,
    BlendParams,
    CamerasBase,
    HardPhongShader,
    MeshRasterizer,
    MeshRendererWithFragments,
    PointLights,
    RasterizationSettings,
    SoftPhongShader,
    SoftSilhouetteShader,
    TexturesVertex,
)
from r3d.renderer.points import (
    AlphaCompositor,
    PointsRasterizationSettings,
    PointsRasterizer,
    PointsRenderer,
)
from r3d.structures import Meshes, Pointclouds

__all__ = [
    "MIN_COVERAGE",
    "SHAPE_GREY",
    "Rendered",
    "RendererSpec",
    "render_mesh_display",
    "render_points",
    "render_soft",
]

MIN_COVERAGE = 1e-4
BLACK = (0.0, 0.0, 0.0)
SHAPE_GREY = 0.7  # display colour of meshes without fitted colours


@dataclass(frozen=True)
class RendererSpec:
    """Soft rasterisation (meshes: blend ``sigma``, ``gamma``, K faces per pixel) and point
    splatting (NDC ``radius``, K points per pixel)."""

    sigma: float = 1e-4
    gamma: float = 1e-4
    faces_per_pixel: int = 20
    radius: float = 0.02
    points_per_pixel: int = 10


@dataclass
class Rendered:
    """A soft render of n views: ``alpha`` (n, H, W) coverage, ``rgb`` (n, H, W, 3) colours
    over black (when asked) and ``depth`` (n, H, W) nearest view-space depth, 0 where empty
    (when asked)."""

    alpha: torch.Tensor
    rgb: torch.Tensor | None = None
    depth: torch.Tensor | None = None


def _soft_settings(spec: RendererSpec, image_size: tuple[int, int]) -> RasterizationSettings:
    return RasterizationSettings(
        image_size=image_size,
        blur_radius=math.log(1.0 / MIN_COVERAGE - 1.0) * spec.sigma,
        faces_per_pixel=spec.faces_per_pixel,
    )


def render_soft(mesh: Meshes, cameras: CamerasBase, spec: RendererSpec,
                image_size: tuple[int, int], rgb: bool, depth: bool) -> Rendered:
    """Soft render of ``mesh`` (one mesh, extended to the n cameras, or n meshes, one per
    camera)."""
    blend = BlendParams(sigma=spec.sigma, gamma=spec.gamma, background_color=BLACK)
    device = cameras.device
    shader = (SoftPhongShader(device=device, cameras=cameras,
                              lights=AmbientLights(device=device), blend_params=blend) if rgb
              else SoftSilhouetteShader(blend_params=blend))
    renderer = MeshRendererWithFragments(
        MeshRasterizer(cameras=cameras, raster_settings=_soft_settings(spec, image_size)),
        shader)
    images, fragments = renderer(mesh if len(mesh) == len(cameras) else mesh.extend(len(cameras)))
    out = Rendered(alpha=images[..., 3], rgb=images[..., :3] if rgb else None)
    if depth:
        z = fragments.zbuf[..., 0]
        out.depth = torch.where(fragments.pix_to_face[..., 0] >= 0, z, torch.zeros_like(z))
    return out


def render_points(points: torch.Tensor, colours: torch.Tensor, opacity: torch.Tensor,
                  cameras: CamerasBase, spec: RendererSpec,
                  image_size: tuple[int, int]) -> Rendered:
    """Splats of one cloud, points (P, 3) with colours (P, 3) and opacities (P,), from n
    cameras; or of n clouds (n, P, 3), (n, P, 3), (n, P), one per camera."""
    n = len(cameras)
    if points.dim() == 2:
        points, colours, opacity = (t.expand(n, *t.shape) for t in (points, colours, opacity))
    features = torch.cat([colours, torch.ones_like(colours[..., :1])], dim=-1)
    clouds = Pointclouds(list(points), features=list(features))
    settings = PointsRasterizationSettings(image_size=image_size, radius=spec.radius,
                                           points_per_pixel=spec.points_per_pixel)
    renderer = PointsRenderer(PointsRasterizer(cameras=cameras, raster_settings=settings),
                              AlphaCompositor(background_color=(0.0, 0.0, 0.0, 0.0)))
    images = renderer(clouds, point_opacity=opacity.reshape(-1))
    return Rendered(alpha=images[..., 3], rgb=images[..., :3])


def _hard_renderer(cameras: CamerasBase, image_size: tuple[int, int], lit: bool):
    device = cameras.device
    if lit:  # a light at each camera: shape readable from any side
        lights = PointLights(device=device, location=cameras.get_camera_center())
    else:
        lights = AmbientLights(device=device)
    shader = HardPhongShader(device=device, cameras=cameras, lights=lights,
                             blend_params=BlendParams(background_color=BLACK))
    return MeshRendererWithFragments(
        MeshRasterizer(cameras=cameras, raster_settings=RasterizationSettings(image_size)),
        shader)


@torch.no_grad()
def render_mesh_display(mesh: Meshes, cameras: CamerasBase,
                        image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard renders of one mesh from n cameras: colours (n, H, W, 3) over black and masks
    (n, H, W) in {0, 1}; unlit when the mesh has colours, else grey lit from the camera."""
    lit = mesh.textures is None
    if lit:
        grey = TexturesVertex([torch.full_like(mesh.verts_packed(), SHAPE_GREY)])
        mesh = Meshes(mesh.verts_list(), mesh.faces_list(), textures=grey)
    images, fragments = _hard_renderer(cameras, image_size, lit)(mesh.extend(len(cameras)))
    return images[..., :3], (fragments.pix_to_face[..., 0] >= 0).float()
