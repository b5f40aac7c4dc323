"""Bridge to the native kernels of emission-absorption rendering of voxel grids: checks every
tensor, allocates the outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw
pointers."""

from __future__ import annotations

import torch

from r3d._checks import check_int
from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.errors import InputError


def grid_memory_format(grid: torch.Tensor) -> torch.memory_format:
    """The layout in which the kernels take an (N, K, D, H, W) grid like ``grid``:
    torch.channels_last_3d for a permuted view of a contiguous (N, D, H, W, K) tensor,
    torch.contiguous_format otherwise."""
    if (
        isinstance(grid, torch.Tensor)
        and grid.dim() == 5
        and not grid.is_contiguous()
        and grid.is_contiguous(memory_format=torch.channels_last_3d)
    ):
        return torch.channels_last_3d
    return torch.contiguous_format


def _check_ea_grid(
    op: str,
    grid: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    align_corners: bool,
    surface_thickness: int,
    eps: float,
) -> tuple:
    """Checks the inputs of a call; returns the launchers' shape tuple."""
    fmt = grid_memory_format(grid)
    # a channels-last grid is checked as the contiguous (N, D, H, W, K) tensor it is
    check_float(op, "grid", grid.permute(0, 2, 3, 4, 1) if fmt == torch.channels_last_3d
                else grid, (None,) * 5)
    N, K, D, H, W = grid.shape
    if K < 1 or min(D, H, W) < 1:
        raise InputError(f"{op}: grid must have shape (N, K >= 1, D >= 1, H >= 1, W >= 1), got "
                         f"{tuple(grid.shape)}")
    check(op, "origins", origins, grid.dtype, (N, None, 3), grid.device)
    R = origins.shape[1]
    check(op, "directions", directions, grid.dtype, (N, R, 3), grid.device)
    check(op, "lengths", lengths, grid.dtype, (N, R, None), grid.device)
    check(op, "scale", scale, grid.dtype, (N, 3), grid.device)
    check(op, "shift", shift, grid.dtype, (N, 3), grid.device)
    check_int(op, "surface_thickness", surface_thickness, 1)
    return (N, R, lengths.shape[2], K, D, H, W, fmt == torch.channels_last_3d,
            bool(align_corners), surface_thickness, float(eps))


def ea_grid_forward(
    grid: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    align_corners: bool,
    surface_thickness: int,
    eps: float,
    save_densities: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native emission-absorption rendering of voxel grids (csrc/volume_rendering).

    Args:
        grid: (N, K, D, H, W) float32/float64, channel 0 the densities and 1..K-1 the features;
            contiguous or channels last (a permuted contiguous (N, D, H, W, K) tensor).
        origins, directions: (N, R, 3) rays in world units, of grid's dtype, contiguous.
        lengths: (N, R, P) sample distances along each ray (point = origin + length * direction).
        scale, shift: (N, 3) world-to-local maps of the volumes (local = world * scale + shift).
        align_corners: grid_sample's convention.
        surface_thickness: the raymarcher's shift of the absorption, >= 1.
        eps: added to 1 - density in the absorption.
        save_densities: whether to return the sampled densities (the backward needs them).
    Returns:
        features (N, R, K - 1), opacities (N, R, 1) and the densities sampled along the rays
        (N, R, P), or an empty (0,) tensor without save_densities.
    """
    shape = _check_ea_grid("emission_absorption_grid", grid, origins, directions, lengths,
                           scale, shift, align_corners, surface_thickness, eps)
    N, R, P, K = shape[:4]
    features = grid.new_empty((N, R, K - 1))
    opacities = grid.new_empty((N, R, 1))
    ray_densities = grid.new_empty((N, R, P) if save_densities else (0,))
    if N * R:
        launch("ea_grid_forward", grid.device, DTYPE_NAMES[grid.dtype], addr(grid),
               addr(origins), addr(directions), addr(lengths), addr(scale), addr(shift), shape,
               addr(features), addr(opacities), addr(ray_densities) if save_densities else 0)
    return features, opacities, ray_densities


def ea_grid_backward(
    grid: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    lengths: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    ray_densities: torch.Tensor,
    grad_features: torch.Tensor,
    grad_opacities: torch.Tensor,
    align_corners: bool,
    surface_thickness: int,
    eps: float,
) -> torch.Tensor:
    """Native backward of :func:`ea_grid_forward` w.r.t. the grid.

    Args:
        grid, origins, directions, lengths, scale, shift, align_corners, surface_thickness, eps:
            as in the forward.
        ray_densities: (N, R, P) the sampled densities the forward saved.
        grad_features: (N, R, K - 1) contiguous, grad_opacities: (N, R, 1) contiguous.
    Returns:
        (N, K, D, H, W) gradient w.r.t. grid, in grid's layout.
    """
    op = "emission_absorption_grid backward"
    shape = _check_ea_grid(op, grid, origins, directions, lengths, scale, shift, align_corners,
                           surface_thickness, eps)
    N, R, P, K = shape[:4]
    check(op, "ray_densities", ray_densities, grid.dtype, (N, R, P), grid.device)
    check(op, "grad_features", grad_features, grid.dtype, (N, R, K - 1), grid.device)
    check(op, "grad_opacities", grad_opacities, grid.dtype, (N, R, 1), grid.device)
    grad_grid = torch.zeros_like(grid, memory_format=grid_memory_format(grid))
    # the CPU launcher keeps a scratch row per thread; each CUDA thread (ray) needs its own
    scratch = grid.new_empty((N * R * 3 * P,)) if grid.device.type == "cuda" else None
    if N * R * P:
        launch("ea_grid_backward", grid.device, DTYPE_NAMES[grid.dtype], addr(grid),
               addr(origins), addr(directions), addr(lengths), addr(scale), addr(shift), shape,
               addr(ray_densities), addr(grad_features), addr(grad_opacities), addr(grad_grid),
               0 if scratch is None else addr(scratch))
    return grad_grid
