"""Lights with PyTorch3D's names, defaults and (Phong) reflection formulas.

Every light has an ambient colour and answers ``diffuse(normals, points=None)`` and
``specular(normals, points, camera_position, shininess)`` with the light reaching each point,
(N, ..., C) for (N, ..., 3) normals and points: padded (N, ...) or packed (P, 3) points, the
latter with lights of one item or of P items (see ``gather_props``). Light parameters are
(N, C) colours (C channels, 3 for RGB, the same for one light's colours) and (N, 3) positions
or directions, N being 1 or the points' batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.properties import COLOR_PARAMS, TensorProperties, expand_like
from r3d.transforms._common import broadcast_batch

__all__ = ["AmbientLights", "DirectionalLights", "PointLights", "diffuse", "specular"]

_EPS = 1e-6


def _batched(op: str, like: torch.Tensor, channels: bool = True, **params) -> list[torch.Tensor]:
    """params (see :func:`expand_like`) viewed to broadcast against like, after checking that
    their batch sizes and like's are equal or 1."""
    out = [expand_like(p, like, channels) for p in params.values()]
    sizes = [len(like), *(len(p) for p in out)]
    broadcast_batch(op, f"the batch sizes of the points and of {', '.join(params)}", sizes)
    return out


def _check_vectors(op: str, **vectors: torch.Tensor) -> torch.Tensor:
    """The first of ``vectors`` after checking that all are float tensors (..., 3) of one
    shape."""
    first = next(iter(vectors.values()))
    for name, v in vectors.items():
        if not (isinstance(v, torch.Tensor) and v.is_floating_point() and v.dim() >= 1
                and v.shape[-1] == 3 and v.shape == first.shape):
            raise InputError(
                f"{op}: {' and '.join(vectors)} must be float tensors of one shape (..., 3), "
                f"got {name} {describe(v)}"
            )
    return first


def diffuse(normals: torch.Tensor, color, direction) -> torch.Tensor:
    """Lambertian reflection: ``color * max(0, n . l)`` with n and l normalised.

    Args:
        normals: (N, ..., 3) or packed (P, 3) surface normals.
        color: (N, C), (C,) or normals' shape: the light's colour per batch item.
        direction: (N, 3), (3,) or normals' shape: from the point towards the light.
    Returns:
        (N, ..., C).
    """
    op = "diffuse"
    _check_vectors(op, normals=normals)
    color, direction = _batched(op, normals, color=color, direction=direction)
    n = F.normalize(normals, dim=-1, eps=_EPS)
    l_dir = F.normalize(direction, dim=-1, eps=_EPS)
    return color * torch.relu((n * l_dir).sum(-1, keepdim=True))


def specular(points, normals, direction, color, camera_position, shininess) -> torch.Tensor:
    """Phong specular reflection: ``color * max(0, v . r) ** shininess`` where r is the light
    direction l mirrored about the normal n and v points to the camera; zero where n . l <= 0.
    PyTorch3D's argument order.

    Args:
        points: (N, ..., 3) or packed (P, 3) surface points.
        normals: points' shape.
        direction: (N, 3), (3,) or points' shape: from the point towards the light.
        color: (N, C), (C,) or points' shape.
        camera_position: (N, 3), (3,) or points' shape.
        shininess: (N,), a number, a 0-d tensor or points' shape without the last dim.
    Returns:
        (N, ..., C).
    """
    op = "specular"
    _check_vectors(op, points=points, normals=normals)
    direction, color, camera_position = _batched(
        op, points, direction=direction, color=color, camera_position=camera_position
    )
    (shininess,) = _batched(op, points[..., 0], channels=False, shininess=shininess)
    n = F.normalize(normals, dim=-1, eps=_EPS)
    l_dir = F.normalize(direction, dim=-1, eps=_EPS)
    cos = (n * l_dir).sum(-1, keepdim=True)
    reflected = 2 * cos * n - l_dir
    view = F.normalize(camera_position - points, dim=-1, eps=_EPS)
    alpha = torch.relu((view * reflected).sum(-1)) * (cos[..., 0] > 0)
    return color * alpha.pow(shininess)[..., None]


class _Lights(TensorProperties):
    """Shared parts of the lights with a direction: the reflection formulas."""

    def _direction(self, normals: torch.Tensor, points: torch.Tensor | None):
        """(N, 3) or (N, ..., 3): from each point towards the light."""
        raise NotImplementedError

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor | None = None) -> torch.Tensor:
        """Diffuse light (N, ..., C) at points (N, ..., 3) with normals of their shape (points
        are optional for directional lights)."""
        return diffuse(normals, self.diffuse_color, self._direction(normals, points))

    def specular(
        self, normals: torch.Tensor, points: torch.Tensor, camera_position, shininess
    ) -> torch.Tensor:
        """Specular light (N, ..., C) at points (N, ..., 3) with normals of their shape, seen
        from camera_position (N, 3), with shininess (N,) or a number."""
        return specular(
            points, normals, self._direction(normals, points), self.specular_color,
            camera_position, shininess,
        )


class DirectionalLights(_Lights):
    """Lights at infinity shining along ``-direction``.

    Args:
        ambient_color, diffuse_color, specular_color: (C,) or (N, C) (C = 3 for RGB).
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
        self._init_params(
            device, ambient_color=(ambient_color, (None,)),
            diffuse_color=(diffuse_color, (None,)), specular_color=(specular_color, (None,)),
            direction=(direction, (3,)),
        )
        self._check_channels(COLOR_PARAMS)

    def _direction(self, normals: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        return self.direction


class PointLights(_Lights):
    """Point lights at ``location`` (world space).

    Args:
        ambient_color, diffuse_color, specular_color: (C,) or (N, C) (C = 3 for RGB).
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
        self._init_params(
            device, ambient_color=(ambient_color, (None,)),
            diffuse_color=(diffuse_color, (None,)), specular_color=(specular_color, (None,)),
            location=(location, (3,)),
        )
        self._check_channels(COLOR_PARAMS)

    def reshape_location(self, points: torch.Tensor) -> torch.Tensor:
        """The locations as they broadcast against points: (N, 3) for packed (P, 3) points
        (location then has N = P after ``gather_props``, or 1) or points of location's dims,
        else (N, 1, ..., 1, 3) with points' dims (PyTorch3D's (N, 1, 1, 1, 3) for the
        (N, H, W, K, 3) points of fragments)."""
        if not isinstance(points, torch.Tensor) or points.dim() < 2:
            raise InputError(
                f"PointLights.reshape_location: points must be a tensor (P, 3) or "
                f"(N, ..., 3), got {describe(points)}"
            )
        if self.location.dim() == points.dim():
            return self.location
        return expand_like(self.location, points)

    def _direction(self, normals: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        if points is None:
            raise InputError("PointLights: points are required (the lights are at a location)")
        return self.reshape_location(points) - points


class AmbientLights(TensorProperties):
    """The same light everywhere; white by default, which leaves the texture's colours as they
    are.

    Args:
        ambient_color: (C,) or (N, C): any number of channels C (3 for RGB); None (PyTorch3D's
            default) is white.
        device: where the parameters live.
    """

    def __init__(self, ambient_color=None, device=None) -> None:
        if ambient_color is None:
            ambient_color = ((1.0, 1.0, 1.0),)
        self._init_params(device, ambient_color=(ambient_color, (None,)))

    def _zeros(self, normals: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        """(..., C) zeros like points (or normals) with the lights' C channels."""
        like = normals if points is None else points
        return like.new_zeros(*like.shape[:-1], self.ambient_color.shape[-1])

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor | None = None) -> torch.Tensor:
        """Zeros (N, ..., C)."""
        return self._zeros(normals, points)

    def specular(self, normals, points, camera_position, shininess) -> torch.Tensor:
        """Zeros (N, ..., C)."""
        return self._zeros(normals, points)
