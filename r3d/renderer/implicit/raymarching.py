"""Ray marchers: the colour and opacity of each ray from the densities and features sampled
along it (PyTorch3D's ``EmissionAbsorptionRaymarcher`` and ``AbsorptionOnlyRaymarcher``).

Densities are per-sample opacities in [0, 1]: the fraction of the light a sample stops. For a
field of extinction coefficient sigma sampled every delta along a ray, that is
``1 - exp(-sigma * delta)``, and the product of the ``1 - density`` of the samples is the
transmittance of the ray.
"""

from __future__ import annotations

import torch

from r3d._checks import check_int, describe
from r3d.errors import InputError
from r3d.ops.volume_rendering_torch import EA_EPS, emission_absorption, ray_opacities
from r3d.value_checks import expect

__all__ = ["AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher"]


class EmissionAbsorptionRaymarcher(torch.nn.Module):
    """Emission-absorption ray marching: each sample emits its features in proportion to its
    density times the light that reaches it.

    With d_k the densities along a ray, the light reaching sample k is the product of
    ``1 + eps - d_j`` over the samples j < k - surface_thickness + 1 (1 for the first
    ``surface_thickness`` samples), so a ray entering a fully opaque region still sees the
    first ``surface_thickness`` samples of it. The ray's features are the sum of
    ``d_k * light_k * features_k``; its opacity ``1 - prod(1 - d_k)``.

    Args:
        surface_thickness: the number of samples by which the transmittance lags (>= 1).
    """

    def __init__(self, surface_thickness: int = 1) -> None:
        super().__init__()
        check_int(type(self).__name__, "surface_thickness", surface_thickness, 1)
        self.surface_thickness = surface_thickness

    def forward(
        self,
        rays_densities: torch.Tensor,
        rays_features: torch.Tensor,
        eps: float = EA_EPS,
        **kwargs,
    ) -> torch.Tensor:
        """Renders the rays.

        Args:
            rays_densities: (..., n_pts_per_ray, 1) per-sample opacities in [0, 1].
            rays_features: (..., n_pts_per_ray, F).
            eps: added to the transmitted fraction 1 - density, so that the transmittance
                never becomes exactly 0 (which would stop the gradients behind an opaque
                sample).
            kwargs: ignored (the renderer passes the ray bundle and its own arguments on).
        Returns:
            (..., F + 1): the rendered features, then the opacity.
        """
        op = f"{type(self).__name__}.forward"
        check_raymarcher_inputs(op, rays_densities, rays_features)
        features, opacities = emission_absorption(rays_densities[..., 0], rays_features,
                                                  self.surface_thickness, eps)
        return torch.cat([features, opacities], dim=-1)


class AbsorptionOnlyRaymarcher(torch.nn.Module):
    """Absorption-only ray marching: the opacity ``1 - prod(1 - d_k)`` of each ray, the fraction
    of the light its samples stop (no features)."""

    def forward(self, rays_densities: torch.Tensor, **kwargs) -> torch.Tensor:
        """Renders the rays' opacities.

        Args:
            rays_densities: (..., n_pts_per_ray, 1) per-sample opacities in [0, 1].
            kwargs: ignored (features, the ray bundle and the renderer's arguments).
        Returns:
            (..., 1) opacities.
        """
        check_raymarcher_inputs(f"{type(self).__name__}.forward", rays_densities, None)
        return ray_opacities(rays_densities[..., 0])


def check_raymarcher_inputs(
    op: str, rays_densities: object, rays_features: object | None
) -> None:
    """Raises InputError unless rays_densities is a (..., P, 1) float tensor with values in
    [0, 1] (a value check, deferred on CUDA) and rays_features, when not None, a (..., P, F)
    float tensor of the same leading shape, dtype and device."""
    if (
        not isinstance(rays_densities, torch.Tensor)
        or not rays_densities.is_floating_point()
        or rays_densities.dim() < 2
        or rays_densities.shape[-1] != 1
    ):
        raise InputError(
            f"{op}: rays_densities must be a float tensor of shape (..., n_pts_per_ray, 1), "
            f"got {describe(rays_densities)}"
        )
    if rays_features is not None and not (
        isinstance(rays_features, torch.Tensor)
        and rays_features.shape[:-1] == rays_densities.shape[:-1]
        and rays_features.dtype == rays_densities.dtype
        and rays_features.device == rays_densities.device
    ):
        raise InputError(
            f"{op}: rays_features must be a tensor of shape (..., n_pts_per_ray, F) with the "
            f"leading shape {tuple(rays_densities.shape[:-1])}, dtype and device of "
            f"rays_densities, got {describe(rays_features)}"
        )
    if rays_densities.numel():
        low, high = torch.aminmax(rays_densities.detach())
        expect(op, (low >= 0) & (high <= 1),
               "rays_densities must be per-sample opacities in [0, 1], got values outside it "
               "(or NaN)")
