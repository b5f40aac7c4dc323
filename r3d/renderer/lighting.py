"""Lights with PyTorch3D's names, defaults and (Phong) reflection formulas.

Every light has an ambient colour and answers ``diffuse(normals, points)`` and
``specular(normals, points, camera_position, shininess)`` with the light reaching each point,
(N, ..., 3) like ``points``. Light parameters are (N, 3) (one light per batch item, N may be 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d.renderer.properties import TensorProperties, expand_like

__all__ = ["AmbientLights", "DirectionalLights", "PointLights", "diffuse", "specular"]

_EPS = 1e-6


def diffuse(normals: torch.Tensor, color: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Lambertian reflection: ``color * max(0, n . l)`` with n and l normalised.

    Args:
        normals: (..., 3) surface normals.
        color: (..., 3) light colour, broadcastable to normals.
        direction: (..., 3) from the point towards the light, broadcastable to normals.
    Returns:
        (..., 3) diffuse light.
    """
    n = F.normalize(normals, dim=-1, eps=_EPS)
    l_dir = F.normalize(direction, dim=-1, eps=_EPS)
    return color * torch.relu((n * l_dir).sum(-1, keepdim=True))


def specular(
    points: torch.Tensor,
    normals: torch.Tensor,
    direction: torch.Tensor,
    camera_position: torch.Tensor,
    color: torch.Tensor,
    shininess: torch.Tensor,
) -> torch.Tensor:
    """Phong specular reflection: ``color * max(0, v . r) ** shininess`` where r is the light
    direction l mirrored about the normal n and v points to the camera; zero where n . l <= 0.

    Args:
        points: (..., 3) surface points.
        normals, direction, camera_position, color: (..., 3), broadcastable to points.
        shininess: (...) exponent, broadcastable to points without their last dim.
    Returns:
        (..., 3) specular light.
    """
    n = F.normalize(normals, dim=-1, eps=_EPS)
    l_dir = F.normalize(direction, dim=-1, eps=_EPS)
    cos = (n * l_dir).sum(-1, keepdim=True)
    reflected = 2 * cos * n - l_dir
    view = F.normalize(camera_position - points, dim=-1, eps=_EPS)
    alpha = torch.relu((view * reflected).sum(-1)) * (cos[..., 0] > 0)
    return color * alpha.pow(shininess)[..., None]


class _Lights(TensorProperties):
    """Shared parts of the lights with a direction: the reflection formulas."""

    def _direction(self, points: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) from each point towards the light."""
        raise NotImplementedError

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Diffuse light at points (N, ..., 3) with normals (N, ..., 3); (N, ..., 3)."""
        color = expand_like(self.diffuse_color, points)
        return diffuse(normals, color, self._direction(points))

    def specular(
        self,
        normals: torch.Tensor,
        points: torch.Tensor,
        camera_position: torch.Tensor,
        shininess: torch.Tensor,
    ) -> torch.Tensor:
        """Specular light at points (N, ..., 3) with normals (N, ..., 3) seen from
        camera_position (N, 3), with shininess (N,); (N, ..., 3)."""
        return specular(
            points, normals, self._direction(points), expand_like(camera_position, points),
            expand_like(self.specular_color, points), expand_like(shininess, points),
        )


class DirectionalLights(_Lights):
    """Lights at infinity shining along ``-direction``.

    Args:
        ambient_color, diffuse_color, specular_color: (3,) or (N, 3).
        direction: (3,) or (N, 3), from the scene towards the light (world space).
        device: where the parameters live.
    """

    def __init__(
        self,
        ambient_color=((0.5, 0.5, 0.5),),
        diffuse_color=((0.3, 0.3, 0.3),),
        specular_color=((0.2, 0.2, 0.2),),
        direction=((0.0, 1.0, 0.0),),
        device=None,
    ) -> None:
        super().__init__(
            device, ambient_color=(ambient_color, (3,)), diffuse_color=(diffuse_color, (3,)),
            specular_color=(specular_color, (3,)), direction=(direction, (3,)),
        )

    def _direction(self, points: torch.Tensor) -> torch.Tensor:
        return expand_like(self.direction, points)


class PointLights(_Lights):
    """Point lights at ``location`` (world space).

    Args:
        ambient_color, diffuse_color, specular_color: (3,) or (N, 3).
        location: (3,) or (N, 3).
        device: where the parameters live.
    """

    def __init__(
        self,
        ambient_color=((0.5, 0.5, 0.5),),
        diffuse_color=((0.3, 0.3, 0.3),),
        specular_color=((0.2, 0.2, 0.2),),
        location=((0.0, 1.0, 0.0),),
        device=None,
    ) -> None:
        super().__init__(
            device, ambient_color=(ambient_color, (3,)), diffuse_color=(diffuse_color, (3,)),
            specular_color=(specular_color, (3,)), location=(location, (3,)),
        )

    def _direction(self, points: torch.Tensor) -> torch.Tensor:
        return expand_like(self.location, points) - points


class AmbientLights(TensorProperties):
    """The same light everywhere; white by default, which leaves the texture's colours as they
    are.

    Args:
        ambient_color: (3,) or (N, 3).
        device: where the parameters live.
    """

    def __init__(self, ambient_color=((1.0, 1.0, 1.0),), device=None) -> None:
        super().__init__(device, ambient_color=(ambient_color, (3,)))

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Zeros like points."""
        return torch.zeros_like(points)

    def specular(self, normals, points, camera_position, shininess) -> torch.Tensor:
        """Zeros like points."""
        return torch.zeros_like(points)
