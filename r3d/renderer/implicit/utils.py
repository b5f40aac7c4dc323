"""Bundles of rays and the points along them (PyTorch3D's ``RayBundle``,
``HeterogeneousRayBundle`` and ``ray_bundle_to_ray_points``)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch

from r3d._checks import describe
from r3d.errors import InputError

__all__ = [
    "HeterogeneousRayBundle",
    "RayBundle",
    "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
]


class RayBundle(NamedTuple):
    """Rays and the lengths at which they are sampled.

    Attributes:
        origins: (..., 3) ray origins in world coordinates.
        directions: (..., 3) ray directions in world coordinates; not necessarily unit
            vectors: a point lies at ``origins + length * directions``.
        lengths: (..., n_pts_per_ray) the lengths at which each ray is sampled.
        xys: (..., 2) the image-plane location of each ray's pixel.
    """

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor


@dataclasses.dataclass
class HeterogeneousRayBundle:
    """A :class:`RayBundle` whose rays come from cameras sampled with replacement.

    Attributes:
        origins, directions, lengths, xys: as in :class:`RayBundle`; the first dimension counts
            rays (all cameras' rays packed, camera by camera in the order of ``camera_ids``).
        camera_ids: (M,) int64, the distinct cameras sampled.
        camera_counts: (M,) int64, how many rays came from each of them (their sum is the
            number of rays).
    """

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor
    camera_ids: torch.Tensor | None = None
    camera_counts: torch.Tensor | None = None


def ray_bundle_to_ray_points(ray_bundle: RayBundle | HeterogeneousRayBundle) -> torch.Tensor:
    """The points along the rays of a bundle (see :func:`ray_bundle_variables_to_ray_points`).

    Returns:
        (..., n_pts_per_ray, 3) points.
    """
    return ray_bundle_variables_to_ray_points(
        ray_bundle.origins, ray_bundle.directions, ray_bundle.lengths
    )


def ray_bundle_variables_to_ray_points(
    rays_origins: torch.Tensor, rays_directions: torch.Tensor, rays_lengths: torch.Tensor
) -> torch.Tensor:
    """Points ``origins + lengths * directions`` along rays.

    Args:
        rays_origins: (..., 3).
        rays_directions: (..., 3); their lengths scale the steps.
        rays_lengths: (..., n_pts_per_ray).
    Returns:
        (..., n_pts_per_ray, 3): ``points[..., k, :] = origins + lengths[..., k] * directions``.
    """
    return rays_origins[..., None, :] + rays_lengths[..., :, None] * rays_directions[..., None, :]


def check_ray_bundle_variables(
    op: str, rays_origins: object, rays_directions: object, rays_lengths: object
) -> None:
    """Raises InputError unless origins and directions are (N, ..., 3) and lengths
    (N, ..., n_pts_per_ray) float tensors with the same leading dimensions (at least two of
    them: a batch and one ray dimension)."""
    named = {"origins": rays_origins, "directions": rays_directions, "lengths": rays_lengths}
    for name, t in named.items():
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() < 3:
            raise InputError(
                f"{op}: ray_bundle.{name} must be a float tensor with at least 3 dimensions, "
                f"got {describe(t)}"
            )
    shapes = {name: tuple(t.shape) for name, t in named.items()}
    if (
        len({s[:-1] for s in shapes.values()}) != 1
        or shapes["origins"][-1] != 3
        or shapes["directions"][-1] != 3
    ):
        raise InputError(
            f"{op}: ray_bundle origins and directions must be (..., 3) and lengths "
            f"(..., n_pts_per_ray) with the same leading dimensions, got shapes {shapes}"
        )
