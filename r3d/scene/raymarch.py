"""Ray marching a scene's voxel grid (see :mod:`r3d.scene.scene` for what is drawn and how):
densities to per-sample opacities, the rays' depth range from the cameras and the grid's box,
:class:`~r3d.renderer.VolumeRenderer` with an :class:`~r3d.renderer.NDCMultinomialRaysampler`,
then each pixel shaded from its averaged colour, normal and depth."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from r3d.io import VoxelGrid
from r3d.renderer import (
    AbsorptionOnlyRaymarcher,
    CamerasBase,
    EmissionAbsorptionRaymarcher,
    NDCMultinomialRaysampler,
    VolumeRenderer,
    apply_lighting,
)
from r3d.renderer.implicit import RayBundle
from r3d.scene.scene import VolumeSettings

__all__ = ["VolumeImages", "depth_range", "march_volume", "sample_opacities", "volume_features"]

SILHOUETTE_OPACITY = 0.5  # a pixel is in the silhouette (and has depth and normal) above it
_SAMPLE_MODES = {"trilinear": "bilinear", "nearest": "nearest"}  # grid_sample's names

VolumeImages = dict[str, torch.Tensor]


def volume_features(grid: VoxelGrid) -> torch.Tensor:
    """(6, D, H, W): the grid's colours (its features' 3 channels), then the normals, minus
    the gradient of the densities by central differences in world units (not normalised;
    one-sided at the grid's sides)."""
    spacing = [float(s) for s in grid.voxel_size.flip(0)]  # z, y, x
    gz, gy, gx = torch.gradient(grid.densities, spacing=spacing)
    return torch.cat([grid.features, -torch.stack([gx, gy, gz])])


def sample_opacities(densities: torch.Tensor, density_scale: float, step: float,
                     voxel: float) -> torch.Tensor:
    """Per-sample opacities ``1 - exp(-densities * density_scale * step / voxel)`` of samples
    ``step`` apart: ``density_scale`` is the optical depth of ``voxel`` (a length) at density 1.
    Any shape in, the same out."""
    return -torch.expm1(-densities * (density_scale * step / voxel))


def depth_range(grid: VoxelGrid, cameras: CamerasBase) -> tuple[float, float]:
    """(near, far): the view depths of the nearest and farthest corners of the grid's box over
    ``cameras``, near clipped at the cameras' znear (when they have one) and far kept beyond
    near."""
    lo, hi = grid.translate, grid.translate + grid.scale
    corners = torch.stack([torch.stack([(lo, hi)[b][a] for a, b in enumerate(pick)])
                           for pick in itertools.product((0, 1), repeat=3)])  # (8, 3)
    transform = cameras.get_world_to_view_transform()
    z = transform.transform_points(corners.expand(len(cameras), 8, 3).to(cameras.device))[..., 2]
    near, far = float(z.min()), float(z.max())
    znear = cameras.get_znear()
    if znear is not None:
        near = max(near, float(znear.min()))
    return near, max(far, near * (1 + 1e-4) + 1e-4)


class _Marcher(torch.nn.Module):
    """Emission-absorption marching of the sampled features with each sample's depth (the
    ray's length) appended as one more feature, or absorption only."""

    def __init__(self, absorption_only: bool) -> None:
        super().__init__()
        self.inner = AbsorptionOnlyRaymarcher() if absorption_only \
            else EmissionAbsorptionRaymarcher()
        self.absorption_only = absorption_only

    def forward(self, rays_densities: torch.Tensor, rays_features: torch.Tensor,
                ray_bundle: RayBundle, **kwargs) -> torch.Tensor:
        if self.absorption_only:
            return self.inner(rays_densities=rays_densities)
        depths = ray_bundle.lengths[..., None].to(rays_features.dtype)
        return self.inner(rays_densities=rays_densities,
                          rays_features=torch.cat([rays_features, depths], dim=-1))


def march_volume(grid: VoxelGrid, features: torch.Tensor, cameras: CamerasBase,
                 settings: VolumeSettings, image_size: tuple[int, int],
                 lights=None, materials=None) -> VolumeImages:
    """Ray marches ``grid`` (densities, placement) with ``features`` (6, D, H, W) from
    :func:`volume_features` seen by N ``cameras``.

    Returns:
        opacity (N, H, W); with settings.raymarcher ``emission_absorption`` also colour
        (N, H, W, 3) the shaded colours (``lights`` and ``materials`` as for meshes; unlit
        colours when None), not yet blended over a background, depth (N, H, W) the expected
        depths, normal (N, H, W, 3) unit world normals (zero where no gradient was met).
    """
    height, width = image_size
    near, far = depth_range(grid, cameras)
    points = settings.points_per_ray or 2 * max(grid.densities.shape)
    step = (far - near) / (points - 1)
    opacity = sample_opacities(grid.densities, settings.density_scale, step,
                               float(grid.voxel_size.min()))
    n = len(cameras)
    volumes = grid.to_volumes().update_padded(opacity[None, None], features[None])
    volumes = volumes[[0] * n]
    absorption = settings.raymarcher == "absorption_only"
    raysampler = NDCMultinomialRaysampler(image_width=width, image_height=height,
                                          n_pts_per_ray=points, min_depth=near, max_depth=far)
    renderer = VolumeRenderer(raysampler, _Marcher(absorption),
                              sample_mode=_SAMPLE_MODES[settings.sample])
    out, rays = renderer(cameras=cameras, volumes=volumes)
    alpha = out[..., -1]
    if absorption:
        return {"opacity": alpha}
    covered = alpha[..., None].clamp(min=1e-6)
    colour = out[..., :3] / covered
    normal = F.normalize(out[..., 3:6], dim=-1, eps=1e-12)
    depth = out[..., 6] / covered[..., 0]
    if lights is not None:
        world = rays.origins + depth[..., None] * rays.directions
        ambient, diffuse, specular = apply_lighting(world, normal, lights, cameras, materials)
        colour = (ambient + diffuse) * colour + specular
    return {"opacity": alpha, "colour": colour.clamp(0.0, 1.0), "depth": depth,
            "normal": normal}
