"""Batches of voxel grids placed in the world: :class:`Volumes` (PyTorch3D's ``Volumes``).

Coordinates follow PyTorch3D's ``Volumes`` / ``VolumeLocator``:

- a grid is (D, H, W) = (z, y, x): the voxel at index (d, h, w) has voxel coordinates
  (w, h, d), so the last index runs along x;
- local coordinates span [-1, 1] along each axis as ``grid_sample`` reads them: with
  ``align_corners=True`` the centres of the first and last voxels are at -1 and 1, with
  ``align_corners=False`` the outer faces of those voxels are;
- world coordinates: ``world = local * (n - 1) * voxel_size / 2 - volume_translation`` with n the
  grid's (W, H, D) size, whatever ``align_corners``; so with ``align_corners=True`` voxel centres
  are ``voxel_size`` apart and the grid's centre is at ``-volume_translation``.

In a heterogeneous batch every item keeps its own grid size (densities are zero-padded to the
largest), and every coordinate is its own grid's. A grid of one voxel along an axis has that
voxel at local 0 and a local-to-world scale of ``voxel_size / 2`` along the axis (PyTorch3D
gives NaN coordinates and a singular transform there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from r3d.errors import InputError
from r3d.structures.display import NotebookView
from r3d.structures.utils import (
    as_index_list,
    describe,
    list_to_padded,
    map_tensors,
    padded_to_list,
    resolve_device,
)
from r3d.transforms import Scale, Transform3d
from r3d.value_checks import expect, expect_finite

__all__ = ["Volumes", "voxel_to_local"]

Sizes = list[tuple[int, int, int]]


def voxel_to_local(points: torch.Tensor, sizes: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Local coordinates of points given in voxel coordinates.

    Args:
        points: (..., 3) float positions in voxel units (x, y, z) along (W, H, D): the centre of
            voxel (d, h, w) is at (w, h, d), its faces half a unit away.
        sizes: (..., 3) grid sizes (W, H, D), broadcasting with points.
        align_corners: True: the first and last voxel centres map to -1 and 1 (a single voxel to
            0); False: the outer faces of the grid do.
    Returns:
        (..., 3) local coordinates ``(2 p + 1 - n) / s`` with s = n - 1 (at least 1) when
        align_corners, else n.
    """
    n = sizes.to(points.dtype)
    span = (n - 1).clamp(min=1) if align_corners else n
    return (2 * points + 1 - n) / span


def _geometry_dtype(dtype: torch.dtype) -> torch.dtype:
    """dtype of the coordinates of a volume of densities of ``dtype``: float64 stays float64,
    anything else computes in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _as_padded(
    op: str, name: str, x: object, device: torch.device | None
) -> tuple[torch.Tensor, Sizes]:
    """``x`` (an (N, C, D, H, W) float tensor or a list of N (C, D_i, H_i, W_i) ones) as the
    padded (N, C, max D_i, max H_i, max W_i) tensor and the N grid sizes (D_i, H_i, W_i)."""
    shape = f"(N, {name}_dim, D, H, W)"
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point() or x.dim() != 5:
            raise InputError(f"{op}: {name} must be a float tensor of shape {shape} or a list "
                             f"of (C, D, H, W) float tensors, got {describe(x)}")
        items = [x[0]] if len(x) else []
        sizes = [tuple(x.shape[2:])] * len(x)
        padded = x
    elif isinstance(x, (list, tuple)):
        if not x:
            raise InputError(f"{op}: {name} is an empty list; give an empty batch as a "
                             f"tensor of shape {shape} with N = 0")
        items = list(x)
        for i, t in enumerate(items):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != 4:
                raise InputError(f"{op}: {name}[{i}] must be a float tensor of shape "
                                 f"({name}_dim, D, H, W), got {describe(t)}")
            first = items[0]
            if (t.shape[0], t.dtype, t.device) != (first.shape[0], first.dtype, first.device):
                raise InputError(f"{op}: {name}[{i}] must have the channels, dtype and device "
                                 f"of {name}[0] ({describe(first)}), got {describe(t)}")
        sizes = [tuple(t.shape[1:]) for t in items]
        padded = list_to_padded(items)
    else:
        raise InputError(f"{op}: {name} must be a tensor of shape {shape} or a list of "
                         f"(C, D, H, W) tensors, got {describe(x)}")
    if padded.shape[1] == 0 or any(min(s) < 1 for s in sizes) or min(padded.shape[2:]) < 1:
        raise InputError(f"{op}: {name} must have at least one channel and grid sizes of at "
                         f"least 1, got {describe(x if isinstance(x, torch.Tensor) else items)}")
    if device is not None and padded.device != device:
        raise InputError(f"{op}: {name} must be on {device} like the densities, got "
                         f"{describe(padded)}")
    return padded, sizes


def _per_item(
    op: str,
    name: str,
    x: object,
    n: int,
    dtype: torch.dtype,
    device: torch.device,
    *,
    positive: bool,
) -> torch.Tensor:
    """A per-axis volume property as an (n, 3) tensor: from a number (voxel_size only), three
    numbers, or a tensor of shape (3,), (1, 3) or (n, 3), or for voxel_size (), (1,), (1, 1)
    or (n, 1) (the same size along the three axes). Tensors keep their autograd graph."""
    shapes = "a number, 3 numbers, or a tensor of shape (3,), (1, 3), (N, 3) or (N, 1)" \
        if positive else "3 numbers or a tensor of shape (3,), (1, 3) or (N, 3)"
    if isinstance(x, (list, tuple)) and len(x) == 3 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in x
    ):
        x = torch.tensor([list(x)], dtype=dtype, device=device)
    elif positive and isinstance(x, (int, float)) and not isinstance(x, bool):
        x = torch.full((1, 3), float(x), dtype=dtype, device=device)
    elif isinstance(x, torch.Tensor) and (x.is_floating_point() or (
        not x.is_complex() and x.dtype != torch.bool
    )):
        x = x.to(dtype=dtype, device=device)
        if positive and (x.numel() == 1 and x.dim() <= 2 or x.shape == (n, 1)):
            x = x.reshape(-1, 1).expand(-1, 3)
        elif x.shape == (3,):
            x = x[None]
    else:
        raise InputError(f"{op}: {name} must be {shapes}, got {describe(x)}")
    if x.dim() != 2 or x.shape[1] != 3 or x.shape[0] not in (1, n):
        raise InputError(f"{op}: {name} must be {shapes} with N = {n}, got {describe(x)}")
    expect_finite(op, name, x)
    if positive:
        expect(op, (x > 0).all(), f"{name} must be positive")
    return x.expand(n, 3)


class Volumes(NotebookView):
    """A batch of N voxel grids of densities, optionally with features, placed in the world.

    Args:
        densities: (N, density_dim, D, H, W) float tensor, or a list of N float tensors
            (density_dim, D_i, H_i, W_i) of one dtype and device (zero-padded to the largest
            sizes; each item keeps its own grid size). An empty batch is a tensor with N = 0.
        features: None, or like densities with feature_dim channels: a list whose items have
            the densities' grid sizes, or a padded (N, feature_dim, D, H, W) tensor of the
            densities' padded shape; on the densities' device.
        voxel_size: the size of a voxel in world units along (x, y, z), positive: a number, 3
            numbers, or a tensor of shape (3,), (1, 3), (N, 3), or (), (1,), (N, 1) for cubes.
        volume_translation: (x, y, z) such that the centre of each grid is at
            ``-volume_translation`` in the world: 3 numbers or a tensor (3,), (1, 3) or (N, 3).
        align_corners: how local coordinates [-1, 1] cover a grid (see the module docstring).

    Tensors given for voxel_size and volume_translation are moved to the densities' device and
    converted to their dtype (float32 unless float64) keeping their autograd graph, so
    gradients reach them through the coordinates and transforms, as they reach the densities and
    features through every view.

    Attributes:
        device: the device of every tensor.
    """

    def __init__(
        self,
        densities: torch.Tensor | Sequence[torch.Tensor],
        features: torch.Tensor | Sequence[torch.Tensor] | None = None,
        voxel_size: float | Sequence[float] | torch.Tensor = 1.0,
        volume_translation: Sequence[float] | torch.Tensor = (0.0, 0.0, 0.0),
        align_corners: bool = True,
    ) -> None:
        op = "Volumes"
        self._densities, self._sizes = _as_padded(op, "densities", densities, None)
        self.device = self._densities.device
        if not isinstance(align_corners, bool):
            raise InputError(f"{op}: align_corners must be a bool, got {align_corners!r}")
        self._align_corners = align_corners
        n = len(self._sizes)
        self._grid_sizes = torch.tensor(self._sizes, dtype=torch.int64, device=self.device) \
            .reshape(n, 3)
        dtype = _geometry_dtype(self._densities.dtype)
        self._voxel_size = _per_item(op, "voxel_size", voxel_size, n, dtype, self.device,
                                     positive=True)
        self._volume_translation = _per_item(op, "volume_translation", volume_translation, n,
                                             dtype, self.device, positive=False)
        self._features = None if features is None else self._conform(op, "features", features)

    def _conform(self, op: str, name: str, x: object) -> torch.Tensor:
        """``x`` (densities or features) padded, after checking that it fits this batch's grids:
        a list of the items' grid sizes or a tensor of the padded shape, on this device."""
        padded, sizes = _as_padded(op, name, x, self.device)
        fits = sizes == self._sizes if isinstance(x, (list, tuple)) else True
        if not fits or padded.shape[0] != len(self) \
                or padded.shape[2:] != self._densities.shape[2:]:
            want = (len(self), "C") + tuple(self._densities.shape[2:])
            raise InputError(f"{op}: {name} must be a tensor of shape {want} or a list of "
                             f"tensors of the grid sizes {self._sizes}, got {describe(padded)} "
                             f"with grid sizes {sizes}")
        return padded

    # ---- data --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._sizes)

    def densities(self) -> torch.Tensor:
        """(N, density_dim, D, H, W) densities, zero-padded past each item's grid size."""
        return self._densities

    def features(self) -> torch.Tensor | None:
        """(N, feature_dim, D, H, W) features, zero-padded, or None."""
        return self._features

    def _as_list(self, x: torch.Tensor) -> list[torch.Tensor]:
        return padded_to_list(x, [(x.shape[1],) + s for s in self._sizes])

    def densities_list(self) -> list[torch.Tensor]:
        """N (density_dim, D_i, H_i, W_i) densities (views)."""
        return self._as_list(self._densities)

    def features_list(self) -> list[torch.Tensor] | None:
        """N (feature_dim, D_i, H_i, W_i) features (views), or None."""
        return None if self._features is None else self._as_list(self._features)

    def get_grid_sizes(self) -> torch.Tensor:
        """(N, 3) int64 grid sizes (D_i, H_i, W_i)."""
        return self._grid_sizes

    def get_align_corners(self) -> bool:
        """Whether local coordinates -1 and 1 are the centres of the outer voxels (True) or
        their outer faces (False)."""
        return self._align_corners

    def update_padded(
        self, new_densities: torch.Tensor, new_features: torch.Tensor | None = None
    ) -> Volumes:
        """A Volumes of the same grids, placement and device with other densities and features.

        Args:
            new_densities: (N, density_dim', D, H, W) float tensor of the padded shape (values
                past each item's grid size are kept but ignored), or a list of the items'
                grid sizes.
            new_features: like new_densities, or None for no features.
        """
        new = Volumes.__new__(Volumes)
        new.__dict__.update(self.__dict__)
        new._densities = self._conform("update_padded", "new_densities", new_densities)
        new._features = None if new_features is None else \
            self._conform("update_padded", "new_features", new_features)
        return new

    # ---- coordinates -------------------------------------------------------------------------
    def _sizes_xyz(self, points: torch.Tensor) -> torch.Tensor:
        """(N, 1, ..., 1, 3) grid sizes (W, H, D) broadcasting with points (N, ..., 3)."""
        return self._grid_sizes.flip(1).reshape((len(self),) + (1,) * (points.dim() - 2) + (3,))

    def _check_points(self, op: str, points: object) -> None:
        if not isinstance(points, torch.Tensor) or not points.is_floating_point() \
                or points.dim() < 2 or points.shape[0] != len(self) or points.shape[-1] != 3:
            raise InputError(f"{op}: points must be a float tensor of shape ({len(self)}, ..., 3)"
                             f", got {describe(points)}")
        if points.device != self.device:
            raise InputError(f"{op}: points must be on {self.device}, got {describe(points)}")

    def get_local_to_world_coords_transform(self) -> Transform3d:
        """Transform3d of N transforms mapping local coordinates to world coordinates:
        ``world = local * (n - 1) * voxel_size / 2 - volume_translation`` (n - 1 at least 1)."""
        n = self._grid_sizes.flip(1).to(self._voxel_size.dtype)
        return Scale((n - 1).clamp(min=1) * self._voxel_size / 2).translate(
            -self._volume_translation
        )

    def get_world_to_local_coords_transform(self) -> Transform3d:
        """The inverse of :meth:`get_local_to_world_coords_transform`."""
        return self.get_local_to_world_coords_transform().inverse()

    def _apply(self, op: str, transform: Transform3d, points: torch.Tensor) -> torch.Tensor:
        self._check_points(op, points)
        flat = points.reshape(len(self), math.prod(points.shape[1:-1]), 3)
        return transform.transform_points(flat).reshape(points.shape)

    def local_to_world_coords(self, points_3d_local: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) points in each item's local coordinates -> (N, ..., 3) world coordinates."""
        return self._apply("local_to_world_coords", self.get_local_to_world_coords_transform(),
                           points_3d_local)

    def world_to_local_coords(self, points_3d_world: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) points in world coordinates -> (N, ..., 3) in each item's local ones."""
        return self._apply("world_to_local_coords", self.get_world_to_local_coords_transform(),
                           points_3d_world)

    def voxel_to_local_coords(self, points_3d_voxel: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) points in each item's voxel coordinates (voxel (d, h, w) centred at
        (w, h, d)) -> (N, ..., 3) local coordinates (:func:`voxel_to_local`). Not in
        PyTorch3D."""
        self._check_points("voxel_to_local_coords", points_3d_voxel)
        return voxel_to_local(points_3d_voxel, self._sizes_xyz(points_3d_voxel),
                              self._align_corners)

    def get_coord_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        """(N, D, H, W, 3) coordinates (x, y, z) of every voxel centre of the padded grids, each
        in its item's world (default) or local coordinates; past an item's grid size the
        coordinates go on beyond its bounds."""
        D, H, W = self._densities.shape[2:]
        dtype = self._voxel_size.dtype
        axes = [torch.arange(s, dtype=dtype, device=self.device) for s in (D, H, W)]
        z, y, x = torch.meshgrid(*axes, indexing="ij")
        voxel = torch.stack([x, y, z], -1).expand((len(self), D, H, W, 3))
        local = self.voxel_to_local_coords(voxel)
        return self.local_to_world_coords(local) if world_coordinates else local

    # ---- selection and copies ----------------------------------------------------------------
    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> Volumes:
        """A Volumes of the selected items (int, slice, list of ints, (N,) bool tensor or 1-d
        int64 tensor), padded as this batch; gradients flow back to this batch's tensors."""
        idx = as_index_list(index, len(self))
        rows = torch.tensor(idx, dtype=torch.int64, device=self.device)
        new = self._map(lambda t: t.index_select(0, rows), self.device)
        new._sizes = [self._sizes[i] for i in idx]
        return new

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> Volumes:
        return map_tensors(self, fn, device)

    def clone(self) -> Volumes:
        """Deep copy (gradients still flow to the original)."""
        return self._map(lambda t: t.clone(), self.device)

    def detach(self) -> Volumes:
        """Copy whose tensors are detached from the autograd graph (storage shared)."""
        return self._map(lambda t: t.detach(), self.device)

    def to(self, device: torch.device | str, copy: bool = False) -> Volumes:
        """The batch on ``device``: self when already there (unless ``copy``), else a copy."""
        device = resolve_device(device)
        if device == self.device:
            return self.clone() if copy else self
        return self._map(lambda t: t.to(device), device)

    def cpu(self) -> Volumes:
        """The batch on the CPU."""
        return self.to("cpu")

    def cuda(self) -> Volumes:
        """The batch on the current CUDA device."""
        return self.to("cuda")

    def __repr__(self) -> str:
        return (f"Volumes(N={len(self)}, densities={tuple(self._densities.shape)}, "
                f"features={None if self._features is None else tuple(self._features.shape)}, "
                f"align_corners={self._align_corners})")

