"""Renderers of implicit fields and voxel volumes (PyTorch3D's ``ImplicitRenderer``,
``VolumeRenderer`` and ``VolumeSampler``): a raysampler casts rays from the cameras, a field
gives densities and features at the points along them, a raymarcher turns those into pixels."""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.ops.volume_rendering import emission_absorption_grid
from r3d.ops.volume_rendering_torch import EA_EPS
from r3d.renderer.cameras import CamerasBase
from r3d.renderer.implicit.raymarching import (
    EmissionAbsorptionRaymarcher,
    check_raymarcher_inputs,
)
from r3d.renderer.implicit.utils import (
    HeterogeneousRayBundle,
    RayBundle,
    check_ray_bundle_variables,
    ray_bundle_variables_to_ray_points,
)
from r3d.structures import Volumes

__all__ = ["ImplicitRenderer", "VolumeRenderer", "VolumeSampler"]

SAMPLE_MODES = ("bilinear", "nearest")
PADDING_MODES = ("zeros", "border", "reflection")


class ImplicitRenderer(torch.nn.Module):
    """Renders a field given as a callable.

    ``volumetric_function(ray_bundle=..., cameras=..., **kwargs)`` receives the rays (a
    RayBundle or HeterogeneousRayBundle whose lengths are (N, ..., P)) and returns the
    densities (N, ..., P, 1) and features (N, ..., P, F) at the points along them;
    ``ray_bundle_to_ray_points(ray_bundle)`` gives those points.

    Args:
        raysampler: called as ``raysampler(cameras=..., volumetric_function=..., **kwargs)``,
            returns the rays (e.g. :class:`NDCMultinomialRaysampler`).
        raymarcher: called as ``raymarcher(rays_densities=..., rays_features=...,
            ray_bundle=..., **kwargs)``, returns the pixels (e.g.
            :class:`EmissionAbsorptionRaymarcher`).
    """

    def __init__(self, raysampler: Callable, raymarcher: Callable) -> None:
        super().__init__()
        for name, value in (("raysampler", raysampler), ("raymarcher", raymarcher)):
            if not callable(value):
                raise InputError(f"ImplicitRenderer: {name} must be callable, got "
                                 f"{describe(value)}")
        self.raysampler = raysampler
        self.raymarcher = raymarcher

    def forward(
        self, cameras: CamerasBase, volumetric_function: Callable, **kwargs
    ) -> tuple[torch.Tensor, RayBundle | HeterogeneousRayBundle]:
        """Renders ``volumetric_function`` seen by ``cameras``.

        Args:
            cameras: N cameras.
            volumetric_function: the field (see the class docstring).
            kwargs: passed on to the raysampler, the field and the raymarcher.
        Returns:
            images: (N, ..., F + 1) with the EmissionAbsorptionRaymarcher (the ray bundle's
                leading shape: (N, H, W) for a full grid), and the ray bundle.
        """
        if not callable(volumetric_function):
            raise InputError(f"ImplicitRenderer.forward: volumetric_function must be callable, "
                             f"got {describe(volumetric_function)}")
        ray_bundle = self.raysampler(
            cameras=cameras, volumetric_function=volumetric_function, **kwargs
        )
        return self.march(cameras, volumetric_function, ray_bundle, **kwargs), ray_bundle

    def march(self, cameras: CamerasBase, volumetric_function: Callable,
              ray_bundle: RayBundle | HeterogeneousRayBundle, **kwargs) -> torch.Tensor:
        """The images (N, ..., F + 1) of ``volumetric_function`` along the rays of
        ``ray_bundle`` (the second half of :meth:`forward`)."""
        rays_densities, rays_features = volumetric_function(
            ray_bundle=ray_bundle, cameras=cameras, **kwargs
        )
        return self.raymarcher(
            rays_densities=rays_densities,
            rays_features=rays_features,
            ray_bundle=ray_bundle,
            **kwargs,
        )


class VolumeRenderer(torch.nn.Module):
    """Renders a batch of ``Volumes``: an :class:`ImplicitRenderer` whose field is a
    :class:`VolumeSampler` of the volumes.

    Args:
        raysampler, raymarcher: as in :class:`ImplicitRenderer`.
        sample_mode: "bilinear" (trilinear interpolation) or "nearest".
    """

    def __init__(
        self, raysampler: Callable, raymarcher: Callable, sample_mode: str = "bilinear"
    ) -> None:
        super().__init__()
        _check_mode("VolumeRenderer", "sample_mode", sample_mode, SAMPLE_MODES)
        self.renderer = ImplicitRenderer(raysampler, raymarcher)
        self._sample_mode = sample_mode

    def forward(
        self, cameras: CamerasBase, volumes: Volumes, **kwargs
    ) -> tuple[torch.Tensor, RayBundle | HeterogeneousRayBundle]:
        """Renders N volumes, one per camera; returns the images and the ray bundle as
        :meth:`ImplicitRenderer.forward`."""
        sampler = VolumeSampler(volumes, sample_mode=self._sample_mode)
        if not self._fuses(volumes):
            return self.renderer(cameras=cameras, volumetric_function=sampler, **kwargs)
        ray_bundle = self.renderer.raysampler(cameras=cameras, volumetric_function=sampler,
                                              **kwargs)
        if not isinstance(ray_bundle, RayBundle):
            return self.renderer.march(cameras, sampler, ray_bundle, **kwargs), ray_bundle
        sampler.check_rays("VolumeRenderer.forward", ray_bundle.origins, ray_bundle.directions,
                           ray_bundle.lengths)
        return self._render_fused(volumes, ray_bundle, kwargs.get("eps", EA_EPS)), ray_bundle

    def _fuses(self, volumes: object) -> bool:
        """Whether this render is the fused kernel's: trilinear samples of one grid size with
        one density channel and features, composited by EmissionAbsorptionRaymarcher."""
        return (type(self.renderer.raymarcher) is EmissionAbsorptionRaymarcher
                and self._sample_mode == "bilinear" and isinstance(volumes, Volumes)
                and volumes.features() is not None and volumes.densities().shape[1] == 1
                and len({tuple(d.shape) for d in volumes.densities_list()}) <= 1)

    def _render_fused(self, volumes: Volumes, ray_bundle: RayBundle, eps: float
                      ) -> torch.Tensor:
        """(N, ..., F + 1) images by :func:`r3d.ops.emission_absorption_grid` (the same as
        sampling and ray marching, without the samples in memory)."""
        densities = volumes.densities()
        check_raymarcher_inputs("VolumeRenderer.forward", densities.reshape(-1, 1), None)
        matrix = volumes.get_world_to_local_coords_transform().get_matrix()
        scale, shift = matrix.diagonal(dim1=1, dim2=2)[:, :3], matrix[:, 3, :3]
        features, opacity = emission_absorption_grid(
            densities, volumes.features(), ray_bundle.origins, ray_bundle.directions,
            ray_bundle.lengths, scale.to(densities), shift.to(densities),
            volumes.get_align_corners(), self.renderer.raymarcher.surface_thickness, eps)
        return torch.cat([features, opacity], dim=-1)


class VolumeSampler(torch.nn.Module):
    """The densities and features of a batch of N volumes at the points along rays (in world
    coordinates), interpolated with ``torch.nn.functional.grid_sample``.

    In a batch of grids of different sizes each item is sampled in its own grid's coordinates
    (its local coordinates are mapped onto the padded grid), so a batch samples as its items do
    one by one; "reflection" padding needs grids of one size.

    Args:
        volumes: a :class:`~r3d.structures.Volumes` batch of N.
        sample_mode: "bilinear" (trilinear interpolation) or "nearest".
        padding_mode: the value outside the grid: "zeros", "border" or "reflection".
    """

    def __init__(
        self, volumes: Volumes, sample_mode: str = "bilinear", padding_mode: str = "zeros"
    ) -> None:
        super().__init__()
        op = "VolumeSampler"
        if not isinstance(volumes, Volumes):
            raise InputError(f"{op}: volumes must be a Volumes object, got {describe(volumes)}")
        _check_mode(op, "sample_mode", sample_mode, SAMPLE_MODES)
        _check_mode(op, "padding_mode", padding_mode, PADDING_MODES)
        # the items' grid sizes (D, H, W), known on the host
        self._grid_sizes = [tuple(d.shape[1:]) for d in volumes.densities_list()]
        self._heterogeneous = len(set(self._grid_sizes)) > 1
        if self._heterogeneous and padding_mode == "reflection":
            raise InputError(f"{op}: padding_mode 'reflection' needs volumes of one grid size, "
                             f"got grid sizes {self._grid_sizes}")
        self._volumes = volumes
        self._sample_mode = sample_mode
        self._padding_mode = padding_mode

    def forward(
        self, ray_bundle: RayBundle | HeterogeneousRayBundle, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples the volumes along the rays.

        Args:
            ray_bundle: origins and directions (N, ..., 3) and lengths (N, ..., P) in world
                coordinates, ray batch n sampling volume n.
            kwargs: ignored (the renderer passes the cameras and its own arguments on).
        Returns:
            rays_densities (N, ..., P, C_d) and rays_features (N, ..., P, C_f) (C_f = 0 for
            volumes without features).
        """
        op = "VolumeSampler.forward"
        origins, directions, lengths = ray_bundle.origins, ray_bundle.directions, \
            ray_bundle.lengths
        self.check_rays(op, origins, directions, lengths)
        densities = self._volumes.densities()
        features = self._volumes.features()
        N = origins.shape[0]
        local_origins = self._volumes.world_to_local_coords(origins)
        linear = self._volumes.get_world_to_local_coords_transform().get_matrix()[:, :3, :3]
        local_directions = torch.bmm(directions.reshape(N, -1, 3), linear).view(directions.shape)
        points = ray_bundle_variables_to_ray_points(local_origins, local_directions, lengths)
        if self._heterogeneous:
            points = self._padded_grid_coords(points)
        rays_densities = self._sample(densities, points)
        if features is None:
            return rays_densities, rays_densities[..., :0]
        return rays_densities, self._sample(features, points)

    def check_rays(self, op: str, origins: torch.Tensor, directions: torch.Tensor,
                   lengths: torch.Tensor) -> None:
        """Raises InputError unless origins, directions (N, ..., 3) and lengths (N, ..., P) are
        rays of this batch of N volumes (their dtype and device)."""
        check_ray_bundle_variables(op, origins, directions, lengths)
        densities = self._volumes.densities()
        if densities.shape[0] != origins.shape[0] or densities.dtype != origins.dtype \
                or densities.device != origins.device:
            raise InputError(
                f"{op}: the volumes and the rays must have the same batch size, dtype and "
                f"device, got volumes' densities {describe(densities)} and rays' origins "
                f"{describe(origins)}"
            )

    def _padded_grid_coords(self, points: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) points in each item's local coordinates -> the same points in the local
        coordinates of the padded grid; with "border" padding, clamped to the item's outer
        voxel centres (where grid_sample's border would clamp a grid of the item's size)."""
        shape = (len(points),) + (1,) * (points.dim() - 2) + (3,)
        sizes = self._volumes.get_grid_sizes().flip(1).to(points.dtype).reshape(shape)  # W, H, D
        full = sizes.amax(dim=0)  # the padded grid's
        align = self._volumes.get_align_corners()
        span, full_span = ((sizes - 1).clamp(min=1), (full - 1).clamp(min=1)) if align \
            else (sizes, full)
        voxels = (points * span + sizes - 1) / 2  # the voxel coordinates, centres at integers
        if self._padding_mode == "border":
            voxels = torch.minimum(voxels.clamp(min=0), sizes - 1)
        return (2 * voxels + 1 - full) / full_span

    def _sample(self, grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """(N, ..., C) values of the (N, C, D, H, W) ``grid`` at the (N, ..., 3) local points."""
        N = points.shape[0]
        values = torch.nn.functional.grid_sample(
            grid,
            points.reshape(N, -1, 1, 1, 3),
            mode=self._sample_mode,
            padding_mode=self._padding_mode,
            align_corners=self._volumes.get_align_corners(),
        )  # (N, C, Q, 1, 1)
        return values.reshape(N, grid.shape[1], -1).transpose(1, 2) \
            .reshape(*points.shape[:-1], grid.shape[1])


def _check_mode(op: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{op}: {name} must be one of {allowed}, got {value!r}")
