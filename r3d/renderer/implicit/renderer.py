"""Renderers of implicit fields and voxel volumes (PyTorch3D's ``ImplicitRenderer``,
``VolumeRenderer`` and ``VolumeSampler``): a raysampler casts rays from the cameras, a field
gives densities and features at the points along them, a raymarcher turns those into pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import CamerasBase
from r3d.renderer.implicit.utils import (
    HeterogeneousRayBundle,
    RayBundle,
    check_ray_bundle_variables,
    ray_bundle_variables_to_ray_points,
)

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
        rays_densities, rays_features = volumetric_function(
            ray_bundle=ray_bundle, cameras=cameras, **kwargs
        )
        images = self.raymarcher(
            rays_densities=rays_densities,
            rays_features=rays_features,
            ray_bundle=ray_bundle,
            **kwargs,
        )
        return images, ray_bundle


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
        self, cameras: CamerasBase, volumes: Any, **kwargs
    ) -> tuple[torch.Tensor, RayBundle | HeterogeneousRayBundle]:
        """Renders N volumes, one per camera; returns the images and the ray bundle as
        :meth:`ImplicitRenderer.forward`."""
        sampler = VolumeSampler(volumes, sample_mode=self._sample_mode)
        return self.renderer(cameras=cameras, volumetric_function=sampler, **kwargs)


class VolumeSampler(torch.nn.Module):
    """The densities and features of a batch of N volumes at the points along rays (in world
    coordinates), interpolated with ``torch.nn.functional.grid_sample``.

    Args:
        volumes: a ``Volumes`` batch of N: ``densities()`` (N, C_d, D, H, W), ``features()``
            (N, C_f, D, H, W) or None, ``world_to_local_coords``,
            ``get_world_to_local_coords_transform`` and ``get_align_corners``.
        sample_mode: "bilinear" (trilinear interpolation) or "nearest".
        padding_mode: the value outside the grid: "zeros", "border" or "reflection".
    """

    def __init__(
        self, volumes: Any, sample_mode: str = "bilinear", padding_mode: str = "zeros"
    ) -> None:
        super().__init__()
        op = "VolumeSampler"
        missing = [name for name in ("densities", "features", "world_to_local_coords",
                                     "get_world_to_local_coords_transform", "get_align_corners")
                   if not callable(getattr(volumes, name, None))]
        if missing:
            raise InputError(f"{op}: volumes must be a Volumes object, got {describe(volumes)} "
                             f"(without {', '.join(missing)})")
        _check_mode(op, "sample_mode", sample_mode, SAMPLE_MODES)
        _check_mode(op, "padding_mode", padding_mode, PADDING_MODES)
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
        check_ray_bundle_variables(op, origins, directions, lengths)
        densities = self._volumes.densities()
        features = self._volumes.features()
        N = origins.shape[0]
        if densities.shape[0] != N or densities.dtype != origins.dtype \
                or densities.device != origins.device:
            raise InputError(
                f"{op}: the volumes and the rays must have the same batch size, dtype and "
                f"device, got volumes' densities {describe(densities)} and rays' origins "
                f"{describe(origins)}"
            )
        local_origins = self._volumes.world_to_local_coords(origins)
        linear = self._volumes.get_world_to_local_coords_transform().get_matrix()[:, :3, :3]
        local_directions = torch.bmm(directions.reshape(N, -1, 3), linear).view(directions.shape)
        points = ray_bundle_variables_to_ray_points(local_origins, local_directions, lengths)
        rays_densities = self._sample(densities, points)
        if features is None:
            return rays_densities, rays_densities[..., :0]
        return rays_densities, self._sample(features, points)

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
