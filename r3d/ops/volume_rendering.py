"""Fused emission-absorption rendering of voxel grids: PyTorch3D's ``VolumeSampler`` (trilinear
``grid_sample``, zeros outside) followed by its ``EmissionAbsorptionRaymarcher``, in one pass
over the samples of each ray.

On CPU and CUDA the native kernel runs (a thread per ray; forward and backward w.r.t. the
grids); it never materialises the (N, R, P, C) samples the composed pipeline makes. It packs
the densities and features into one channels-last grid (N, D, H, W, 1 + C), so that a sample's
eight corners are eight short contiguous reads, and takes the gradient back through that
packing. Elsewhere, and whenever a gradient w.r.t. the rays or the volumes' placement is asked
for, the pure-PyTorch twin of :mod:`r3d.ops.volume_rendering_torch` runs.
"""

from __future__ import annotations

import math

import torch

from r3d._native import use_native
from r3d._native import volume_rendering as bridge
from r3d._native.library import in_float32, native_op
from r3d.ops.volume_rendering_torch import (
    EA_EPS,
    check_volume_rays,
    emission_absorption_grid_torch,
)

__all__ = ["emission_absorption_grid"]


def _fake_render(grid, origins, directions, lengths, scale, shift, align_corners,
                 surface_thickness, eps, save_densities):
    N, R = origins.shape[:2]
    return (grid.new_empty((N, R, grid.shape[1] - 1)), grid.new_empty((N, R, 1)),
            grid.new_empty(lengths.shape if save_densities else (0,)))


@native_op("emission_absorption_grid", _fake_render)
def emission_absorption_grid_op(
    grid: torch.Tensor, origins: torch.Tensor, directions: torch.Tensor, lengths: torch.Tensor,
    scale: torch.Tensor, shift: torch.Tensor, align_corners: bool, surface_thickness: int,
    eps: float, save_densities: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native rendering of the (N, 1 + C, D, H, W) grids (densities, then features; contiguous
    or channels last) along (N, R) rays: features (N, R, C), opacities (N, R, 1) and, with
    save_densities, the (N, R, P) densities sampled along the rays (else an empty tensor),
    which the backward needs (not differentiable)."""
    return bridge.ea_grid_forward(grid, origins, directions, lengths, scale, shift,
                                  align_corners, surface_thickness, eps, save_densities)


def _fake_grad_grid(grid, origins, directions, lengths, scale, shift, ray_densities,
                    grad_features, grad_opacities, align_corners, surface_thickness, eps):
    return torch.empty_like(grid, memory_format=bridge.grid_memory_format(grid))


@native_op("emission_absorption_grid_backward", _fake_grad_grid)
def emission_absorption_grid_backward_op(
    grid: torch.Tensor, origins: torch.Tensor, directions: torch.Tensor, lengths: torch.Tensor,
    scale: torch.Tensor, shift: torch.Tensor, ray_densities: torch.Tensor,
    grad_features: torch.Tensor, grad_opacities: torch.Tensor, align_corners: bool,
    surface_thickness: int, eps: float,
) -> torch.Tensor:
    """Native backward: the (N, 1 + C, D, H, W) gradient w.r.t. the grid, in its layout."""
    return bridge.ea_grid_backward(grid, origins, directions, lengths, scale, shift,
                                   ray_densities, grad_features.contiguous(),
                                   grad_opacities.contiguous(), align_corners, surface_thickness,
                                   eps)


def _setup_render(ctx, inputs, output) -> None:
    if not inputs[9]:
        raise RuntimeError("emission_absorption_grid: differentiating needs save_densities=True")
    ctx.settings = inputs[6:9]
    ctx.mark_non_differentiable(output[2])
    ctx.save_for_backward(*inputs[:6], output[2])


def _render_backward(ctx, grad_features, grad_opacities, _) -> tuple:
    grad_grid = emission_absorption_grid_backward_op(
        *ctx.saved_tensors, grad_features, grad_opacities, *ctx.settings)
    return (grad_grid,) + (None,) * 9


emission_absorption_grid_op.register_autograd(_render_backward, setup_context=_setup_render)


def _packed_grid(densities: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """(N, 1 + C, D, H, W) densities then features, laid out channels last (one copy)."""
    return torch.cat([densities.permute(0, 2, 3, 4, 1), features.permute(0, 2, 3, 4, 1)],
                     dim=-1).permute(0, 4, 1, 2, 3)


def emission_absorption_grid(
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
    """Renders voxel grids along rays by emission and absorption, as PyTorch3D's
    ``VolumeRenderer`` with ``VolumeSampler(sample_mode="bilinear", padding_mode="zeros")`` and
    ``EmissionAbsorptionRaymarcher(surface_thickness)`` does, without materialising the samples.

    Sample k of a ray is the world point ``origin + lengths[k] * direction``, moved to its
    volume's local frame (``local = world * scale + shift``, per axis; the grid spans [-1, 1]
    as in ``grid_sample``) and read trilinearly (x along W, y along H, z along D, zero outside
    the grid). With d_k the sampled density, f_k the sampled features and
    ``A_k = prod_{j <= k - surface_thickness} (1 + eps - d_j)``::

        features = sum_k d_k A_k f_k          opacities = 1 - prod_k (1 - d_k)

    Args:
        densities: (N, 1, D, H, W) float opacities of the voxels, in [0, 1] (other values are
            composited by the same formula; PyTorch3D's raymarcher warns about them).
        features: (N, C, D, H, W) of densities' dtype and device; C may be 0.
        origins, directions: (N, ..., 3) rays in world units.
        lengths: (N, ..., P) distances of the samples along each ray, in units of the
            direction's length.
        scale, shift: (N, 3) each volume's world-to-local map: for a PyTorch3D ``Volumes``,
            the diagonal and the last row of ``get_world_to_local_coords_transform()``'s matrix.
        align_corners: as ``grid_sample``'s (``Volumes``' ``align_corners``).
        surface_thickness: the raymarcher's shift of the absorption, an int >= 1.
        eps: added to 1 - density in the absorption (PyTorch3D's default).
    Returns:
        features (N, ..., C) and opacities (N, ..., 1).

    Differentiable w.r.t. every tensor. The native kernels give the gradients w.r.t. densities
    and features; when a gradient w.r.t. origins, directions, lengths, scale or shift is needed
    the twin runs instead (it materialises the (N, R, P, 1 + C) samples).

    Raises InputError naming the argument for a bad shape, dtype or device, or a bad
    surface_thickness.
    """
    op = "emission_absorption_grid"
    check_volume_rays(op, densities, features, origins, directions, lengths, scale, shift,
                      surface_thickness)
    ray_grads = torch.is_grad_enabled() and any(
        t.requires_grad for t in (origins, directions, lengths, scale, shift))
    if ray_grads or not use_native(densities, op):
        return emission_absorption_grid_torch(densities, features, origins, directions,
                                              lengths, scale, shift, align_corners,
                                              surface_thickness, eps)
    N, C = densities.shape[0], features.shape[1]
    rays, P = origins.shape[1:-1], lengths.shape[-1]
    R = math.prod(rays)
    grads = torch.is_grad_enabled() and (densities.requires_grad or features.requires_grad)
    rendered, opacities, _ = in_float32(
        emission_absorption_grid_op, _packed_grid(densities, features),
        origins.reshape(N, R, 3).contiguous(), directions.reshape(N, R, 3).contiguous(),
        lengths.reshape(N, R, P).contiguous(), scale.contiguous(), shift.contiguous(),
        bool(align_corners), surface_thickness, float(eps), grads)
    return rendered.reshape(N, *rays, C), opacities.reshape(N, *rays, 1)
