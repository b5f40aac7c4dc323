"""``VoxelGrid``: a dense density (or occupancy) grid placed in world space, as files hold it.

Axis order. ``densities[k, j, i]`` is the voxel at x index ``i``, y index ``j``, z index ``k``:
the tensor is (D, H, W) = (z, y, x), the order of PyTorch3D's and r3d's ``Volumes`` (the last
index runs along world x). Files with another order (binvox runs x outermost, then z, then y)
are permuted on reading and writing, so a model's +Y up stays +Y up.

Placement. The grid fills the box ``[translate, translate + scale]`` (per axis x, y, z; binvox's
meaning of its ``translate`` and ``scale`` header lines): voxel ``(i, j, k)`` is the cell
``translate + scale * ([i, j, k] + [0, 1]) / [W, H, D]`` and its centre is
``translate + scale * ([i, j, k] + 0.5) / [W, H, D]``. For a ``Volumes`` holding the same
grid, ``voxel_size`` is :attr:`VoxelGrid.voxel_size` and ``volume_translation`` is
``-VoxelGrid.center`` (PyTorch3D's sign: the volume's centre sits at ``-volume_translation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from r3d.errors import InputError

__all__ = ["VoxelGrid"]


def _xyz(name: str, value, device: torch.device, positive: bool) -> torch.Tensor:
    """``value`` (a number or 3 numbers) as a finite (3,) float32 tensor on ``device``."""
    try:
        out = torch.as_tensor(value, dtype=torch.float32, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"VoxelGrid: {name} must be a number or 3 numbers (x, y, z), got "
                         f"{value!r}") from exc
    if out.dim() == 0:
        out = out.expand(3).clone()
    if out.shape != (3,):
        raise InputError(f"VoxelGrid: {name} must be a number or 3 numbers (x, y, z), got "
                         f"shape {tuple(out.shape)}")
    if not bool(torch.isfinite(out).all()) or (positive and not bool((out > 0).all())):
        kind = "positive and finite" if positive else "finite"
        raise InputError(f"VoxelGrid: {name} must be {kind}, got {out.tolist()}")
    return out


@dataclass(eq=False)
class VoxelGrid:
    """A dense grid of densities (occupancy 0/1 for binvox) and optional features.

    Args:
        densities: (D, H, W) floating tensor indexed ``[z, y, x]`` (see the module's notes).
        translate: (3,) or a number: world x, y, z of the grid's minimum corner (default 0).
        scale: (3,) or a number: the grid's world extent along x, y, z (default 1: the unit
            cube).
        features: optional (C, D, H, W) floating tensor, C channels per voxel.

    ``translate`` and ``scale`` are stored as (3,) float32 tensors on the densities' device.
    Raises InputError for wrong shapes, dtypes or devices, non-finite placements and scales that
    are not positive.
    """

    densities: torch.Tensor
    translate: torch.Tensor | float = 0.0
    scale: torch.Tensor | float = 1.0
    features: torch.Tensor | None = None

    def __post_init__(self) -> None:
        dens = self.densities
        if not isinstance(dens, torch.Tensor) or dens.dim() != 3 or not dens.is_floating_point():
            raise InputError(f"VoxelGrid: densities must be a (D, H, W) floating tensor, got "
                             f"{_describe(dens)}")
        if min(dens.shape) < 1:
            raise InputError(f"VoxelGrid: densities must have at least one voxel per axis, got "
                             f"shape {tuple(dens.shape)}")
        feats = self.features
        if feats is not None:
            if (not isinstance(feats, torch.Tensor) or feats.dim() != 4
                    or not feats.is_floating_point() or feats.shape[1:] != dens.shape):
                raise InputError(f"VoxelGrid: features must be a (C, D, H, W) floating tensor "
                                 f"with (D, H, W) = {tuple(dens.shape)}, got {_describe(feats)}")
            if feats.device != dens.device:
                raise InputError(f"VoxelGrid: features are on {feats.device}, densities on "
                                 f"{dens.device}")
        self.translate = _xyz("translate", self.translate, dens.device, positive=False)
        self.scale = _xyz("scale", self.scale, dens.device, positive=True)

    @property
    def dims(self) -> tuple[int, int, int]:
        """The voxel counts along x, y, z: (W, H, D)."""
        depth, height, width = self.densities.shape
        return width, height, depth

    @property
    def voxel_size(self) -> torch.Tensor:
        """(3,) world size of one voxel along x, y, z."""
        return self.scale / torch.tensor(self.dims, dtype=torch.float32,
                                         device=self.scale.device)

    @property
    def center(self) -> torch.Tensor:
        """(3,) world x, y, z of the grid's centre."""
        return self.translate + 0.5 * self.scale

    def voxel_centers(self) -> torch.Tensor:
        """(D, H, W, 3) world x, y, z of each voxel's centre."""
        axes = [(torch.arange(n, dtype=torch.float32, device=self.scale.device) + 0.5) * size
                + low for n, size, low in zip(self.dims, self.voxel_size, self.translate)]
        z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
        return torch.stack([x, y, z], dim=-1)

    def to(self, device) -> VoxelGrid:
        """The same grid on ``device``."""
        feats = None if self.features is None else self.features.to(device)
        return VoxelGrid(self.densities.to(device), self.translate.to(device),
                         self.scale.to(device), feats)


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)} {value.dtype}"
    return type(value).__name__
