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
``-VoxelGrid.center`` (PyTorch3D's sign: the volume's centre sits at ``-volume_translation``):
:meth:`VoxelGrid.to_volumes` and :meth:`VoxelGrid.from_volumes` convert.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from r3d.errors import InputError
from r3d.structures import Volumes

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

    def to_volumes(self) -> Volumes:
        """A :class:`~r3d.structures.Volumes` batch of one holding this grid at the same place:
        densities (1, 1, D, H, W), features (1, C, D, H, W) or None, ``voxel_size`` =
        :attr:`voxel_size`, ``volume_translation`` = ``-center``, ``align_corners=True`` (so its
        voxel centres are :meth:`voxel_centers`)."""
        feats = None if self.features is None else self.features[None]
        return Volumes(self.densities[None, None], features=feats,
                       voxel_size=self.voxel_size[None], volume_translation=-self.center[None])

    @classmethod
    def from_volumes(cls, volumes: Volumes, index: int = 0) -> VoxelGrid:
        """The grid of item ``index`` of ``volumes`` (its own grid size, no padding), placed
        where the volume is: the inverse of :meth:`to_volumes`.

        Raises InputError when the item has more than one density channel, when ``index`` is
        out of range, or when the volume's ``align_corners`` is False (its voxels' placement
        then depends on PyTorch3D's local coordinates in a way a VoxelGrid cannot keep: the
        voxel centres would not be ``voxel_size`` apart).
        """
        if not isinstance(volumes, Volumes):
            raise InputError(f"VoxelGrid.from_volumes: volumes must be a Volumes object, got "
                             f"{_describe(volumes)}")
        if isinstance(index, bool) or not isinstance(index, int) \
                or not -len(volumes) <= index < len(volumes):
            raise InputError(f"VoxelGrid.from_volumes: index must be an int in "
                             f"[{-len(volumes)}, {len(volumes)}), got {index!r}")
        if not volumes.get_align_corners():
            raise InputError("VoxelGrid.from_volumes: the volumes must have align_corners=True "
                             "(voxel centres voxel_size apart), got False")
        item = volumes[index]
        densities = item.densities_list()[0]
        if densities.shape[0] != 1:
            raise InputError(f"VoxelGrid.from_volumes: the volume must have one density channel, "
                             f"got {densities.shape[0]}")
        feats = item.features_list()
        # local-to-world: world = local * (n - 1) * voxel_size / 2 - volume_translation
        matrix = item.get_local_to_world_coords_transform().get_matrix()[0].float()
        dims = torch.tensor(densities.shape[1:], dtype=torch.float32,
                            device=matrix.device).flip(0)  # W, H, D
        voxel_size = matrix.diagonal()[:3] * 2 / (dims - 1).clamp(min=1)
        scale, center = voxel_size * dims, matrix[3, :3]
        return cls(densities[0].float(), translate=center - scale / 2, scale=scale,
                   features=None if feats is None else feats[0].float())

    def to(self, device) -> VoxelGrid:
        """The same grid on ``device``."""
        feats = None if self.features is None else self.features.to(device)
        return VoxelGrid(self.densities.to(device), self.translate.to(device),
                         self.scale.to(device), feats)


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)} {value.dtype}"
    return type(value).__name__
