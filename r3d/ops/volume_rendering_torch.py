"""Pure-PyTorch emission-absorption rendering of voxel grids: the test oracle of the fused native
kernel and the path on devices without one.

It is PyTorch3D's ``VolumeSampler`` followed by its ``EmissionAbsorptionRaymarcher``: the ray
points are moved into each volume's local frame (``local = world * scale + shift``, per axis, as
``Volumes.world_to_local_coords``), the grid is sampled there by ``grid_sample`` (trilinear,
zeros outside, x along W, y along H, z along D) and the samples of each ray are composited front
to back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from r3d._checks import check_int, check_same_device, describe
from r3d.errors import InputError

# The floor PyTorch3D's EmissionAbsorptionRaymarcher adds to 1 - density in the absorption.
EA_EPS = 1e-10


def check_volume_rays(
    op: str,
    densities: torch.Tensor,
    features: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    surface_thickness: int,
) -> None:
    """Raises InputError naming the argument unless densities is a float (N, 1, D, H, W)
    tensor with D, H, W >= 1, features (N, C, D, H, W), origins and directions (N, ..., 3),
    lengths (N, ..., P), scale and shift (N, 3), all of densities' dtype and device, and
    surface_thickness an int >= 1."""
    if not isinstance(densities, torch.Tensor) or not densities.is_floating_point() or (
        densities.dim() != 5 or densities.shape[1] != 1 or min(densities.shape[2:]) < 1
    ):
        raise InputError(
            f"{op}: densities must be a float tensor of shape (N, 1, D, H, W) with D, H, W >= 1,"
            f" got {describe(densities)}"
        )
    N, _, D, H, W = densities.shape
    dtype = densities.dtype

    def expect(name: str, t: object, shape: str, ok) -> None:
        if not isinstance(t, torch.Tensor) or t.dtype != dtype or not ok(t):
            raise InputError(
                f"{op}: {name} must be a {dtype} tensor (densities' dtype) of shape {shape}, got "
                f"{describe(t)}"
            )

    expect("features", features, f"({N}, C, {D}, {H}, {W})",
           lambda t: t.dim() == 5 and t.shape[0] == N and t.shape[2:] == densities.shape[2:])
    expect("origins", origins, f"({N}, ..., 3)",
           lambda t: t.dim() >= 2 and t.shape[0] == N and t.shape[-1] == 3)
    expect("directions", directions, f"{tuple(origins.shape)} (origins' shape)",
           lambda t: t.shape == origins.shape)
    expect("lengths", lengths, f"({', '.join(map(str, origins.shape[:-1]))}, P)",
           lambda t: t.shape[:-1] == origins.shape[:-1] and t.dim() == origins.dim())
    for name, t in (("scale", scale), ("shift", shift)):
        expect(name, t, f"({N}, 3)", lambda t: t.shape == (N, 3))
    check_same_device(op, densities=densities, features=features, origins=origins,
                      directions=directions, lengths=lengths, scale=scale, shift=shift)
    check_int(op, "surface_thickness", surface_thickness, 1)


def local_ray_points(
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
) -> torch.Tensor:
    """(N, R, P, 3) points ``origin + length * direction`` in the local frames of the volumes,
    computed as PyTorch3D's VolumeSampler does (origins and directions moved first) from
    origins, directions (N, R, 3), lengths (N, R, P), scale and shift (N, 3)."""
    origins = origins * scale[:, None] + shift[:, None]
    directions = directions * scale[:, None]
    return origins[:, :, None] + lengths[..., None] * directions[:, :, None]


def emission_absorption(
    densities: torch.Tensor, features: torch.Tensor, surface_thickness: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch3D's emission-absorption raymarching of per-sample values.

    With ``absorption[k] = prod_{j <= k - surface_thickness} (1 + eps - densities[j])``:
    ``features_out = sum_k densities[k] absorption[k] features[k]`` and
    ``opacities = 1 - prod_k (1 - densities[k])``.

    Args:
        densities: (..., P) opacity of each sample, in [0, 1].
        features: (..., P, C) feature of each sample.
    Returns:
        features (..., C) and opacities (..., 1).
    """
    P = densities.shape[-1]
    kept = max(P - surface_thickness, 0)
    absorption = torch.cumprod((1.0 + eps) - densities, dim=-1)[..., :kept]
    absorption = F.pad(absorption, (P - kept, 0), value=1.0)
    rendered = ((densities * absorption)[..., None] * features).sum(dim=-2)
    return rendered, ray_opacities(densities)


def ray_opacities(densities: torch.Tensor) -> torch.Tensor:
    """(..., 1) ``1 - prod(1 - densities)`` of (..., P) per-sample opacities: the fraction of
    the light the samples of each ray stop."""
    return 1.0 - torch.prod(1.0 - densities, dim=-1, keepdim=True)


def emission_absorption_grid_torch(
    densities: torch.Tensor,
    features: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    align_corners: bool = True,
    surface_thickness: int = 1,
    eps: float = EA_EPS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`r3d.ops.emission_absorption_grid` (same arguments and results);
    differentiable w.r.t. every tensor. Materialises (N, R, P, 1 + C) samples."""
    check_volume_rays("emission_absorption_grid", densities, features, origins, directions,
                      lengths, scale, shift, surface_thickness)
    N, C = densities.shape[0], features.shape[1]
    rays = origins.shape[1:-1]
    R, P = math.prod(rays), lengths.shape[-1]
    points = local_ray_points(origins.reshape(N, R, 3), directions.reshape(N, R, 3),
                              lengths.reshape(N, R, P), scale, shift)
    grid = torch.cat([densities, features], dim=1)
    samples = F.grid_sample(grid, points.reshape(N, R * P, 1, 1, 3), mode="bilinear",
                            padding_mode="zeros", align_corners=bool(align_corners))
    samples = samples.reshape(N, 1 + C, R, P).permute(0, 2, 3, 1)
    rendered, opacities = emission_absorption(samples[..., 0], samples[..., 1:],
                                              surface_thickness, eps)
    return rendered.reshape(N, *rays, C), opacities.reshape(N, *rays, 1)
