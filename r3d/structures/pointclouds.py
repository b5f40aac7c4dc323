"""Batches of point clouds of different sizes: :class:`Pointclouds` and the join functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from r3d.errors import InputError
from r3d.structures.display import NotebookView
from r3d.structures.utils import (
    BatchLayout,
    RowField,
    as_index_list,
    bounding_boxes,
    check_float_tensor,
    check_positive_int,
    check_tensor_list,
    describe,
    is_empty_item,
    item_index,
    map_tensors,
    offset_packed,
    resolve_device,
    scale_packed,
    split_batch,
)

__all__ = ["Pointclouds", "join_pointclouds_as_batch", "join_pointclouds_as_scene"]


class Pointclouds(NotebookView):
    """A batch of N point clouds, each with its own number of points P_i.

    Points, and optional normals and features, are available as a list of N (P_i, D) tensors,
    a zero-padded (N, max P_i, D) tensor or a packed (sum P_i, D) tensor. Views are computed
    lazily from whichever form was given and cached; gradients flow from the given tensors to
    every view. Empty clouds (P_i = 0) are allowed.

    Attributes:
        valid: (N,) bool, whether each cloud has at least one point.
        equisized: whether all clouds have the same number of points.
        device: the device of every tensor.

    Args:
        points: list of N (P_i, 3) float tensors, or a padded (N, P, 3) float tensor (then every
            cloud has P points).
        normals: optional, like points: a list of N (P_i, 3) tensors or a padded
            (N, max P_i, 3) tensor.
        features: optional, a list of N (P_i, C) tensors or a padded (N, max P_i, C) tensor.

    As in PyTorch3D, a list entry of an empty cloud may be ``torch.tensor([])`` (points too)
    or None (normals, features): it is stored as a (0, D) tensor like the others. When every
    entry is such, the clouds have no normals (features).
    """

    def __init__(
        self,
        points: Sequence[torch.Tensor] | torch.Tensor,
        normals: Sequence[torch.Tensor] | torch.Tensor | None = None,
        features: Sequence[torch.Tensor] | torch.Tensor | None = None,
    ) -> None:
        if isinstance(points, (list, tuple)):
            points = check_tensor_list("points", points, row_dim=3, floating=True)
            device = points[0].device if len(points) else torch.device("cpu")
            dtype = points[0].dtype if len(points) else torch.get_default_dtype()
            self._layout = BatchLayout([p.shape[0] for p in points], device)
            self._points = RowField(self._layout, list_=points, row_shape=(3,), dtype=dtype)
        elif isinstance(points, torch.Tensor):
            if not points.is_floating_point() or points.dim() != 3 or points.shape[2] != 3:
                raise InputError(
                    "Pointclouds: padded points must be a float tensor of shape (N, P, 3), "
                    f"got {describe(points)}"
                )
            device = points.device
            n, p = points.shape[:2]
            self._layout = BatchLayout([p] * n, device, max_size=p)
            self._points = RowField(self._layout, padded=points)
        else:
            raise InputError(
                "Pointclouds: points must be a list of (P_i, 3) tensors or a padded (N, P, 3) "
                f"tensor, got {describe(points)}"
            )
        self.device = device
        self._N = self._layout.N
        self._P = self._layout.max_size
        self.valid = self._layout.lengths_tensor() > 0
        self.equisized = self._N > 0 and self._layout.equisized
        self._normals = self._parse_aux("normals", normals, 3)
        self._features = self._parse_aux("features", features, None)
        self._C = None if self._features is None else self._features.row_shape[0]

    def _parse_aux(self, name: str, x: Any, row_dim: int | None) -> RowField | None:
        if x is None:
            return None
        layout = self._layout
        if isinstance(x, (list, tuple)):
            if len(x) != self._N:
                raise InputError(
                    f"Pointclouds: {name} must be a list of {self._N} tensors like points, "
                    f"got {len(x)}"
                )
            for i, (t, n) in enumerate(zip(x, layout.lengths)):
                if n and (t is None or is_empty_item(t)):
                    raise InputError(
                        f"Pointclouds: {name}[{i}] is empty ({describe(t)}) but cloud {i} has "
                        f"{n} points; only an empty cloud's {name} may be None or empty"
                    )
            if all(t is None or is_empty_item(t) for t in x):
                return None  # no cloud has points, and none says how many channels
            x = check_tensor_list(name, x, row_dim=row_dim, floating=True, device=self.device,
                                  allow_none=True)
            got = [t.shape[0] for t in x]
            if got != layout.lengths:
                raise InputError(
                    f"Pointclouds: {name} must have {layout.lengths} rows per cloud like points, "
                    f"got {got}"
                )
            return RowField(layout, list_=x)
        if isinstance(x, torch.Tensor):
            want = f"({self._N}, {layout.max_size}, {row_dim or 'C'})"
            if not x.is_floating_point() or x.dim() != 3 or x.shape[0] != self._N \
                    or x.shape[1] != layout.max_size \
                    or (row_dim is not None and x.shape[2] != row_dim):
                raise InputError(
                    f"Pointclouds: padded {name} must be a float tensor of shape {want}, "
                    f"got {describe(x)}"
                )
            if x.device != self.device:
                raise InputError(
                    f"Pointclouds: {name} must be on {self.device} like points, got {describe(x)}"
                )
            return RowField(layout, padded=x)
        raise InputError(
            f"Pointclouds: {name} must be a list of tensors or a padded tensor, got {describe(x)}"
        )

    # ---- sizes and flags ---------------------------------------------------------------------
    def __len__(self) -> int:
        """N, the number of clouds."""
        return self._N

    def __repr__(self) -> str:
        sizes = self._layout.lengths if self._N <= 8 else "..."
        return f"Pointclouds(N={self._N}, points={sizes}, device={self.device})"

    def isempty(self) -> bool:
        """True when the batch has no clouds or every cloud is empty."""
        return self._N == 0 or self._layout.total == 0

    def num_points_per_cloud(self) -> torch.Tensor:
        """(N,) int64 number of points of each cloud."""
        return self._layout.lengths_tensor()

    def packed_to_cloud_idx(self) -> torch.Tensor:
        """(sum P_i,) int64 cloud index of every packed point."""
        return self._layout.packed_to_item()

    def cloud_to_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 index of each cloud's first point in points_packed."""
        return self._layout.first_idx()

    def padded_to_packed_idx(self) -> torch.Tensor:
        """(sum P_i,) int64: ``points_packed() == points_padded().view(-1, 3)[idx]``."""
        return self._layout.padded_to_packed_idx()

    # ---- views -------------------------------------------------------------------------------
    def points_list(self) -> list[torch.Tensor]:
        """List of N (P_i, 3) point tensors."""
        return self._points.list()

    def points_packed(self) -> torch.Tensor:
        """(sum P_i, 3) packed points."""
        return self._points.packed()

    def points_padded(self) -> torch.Tensor:
        """(N, max P_i, 3) points, zero-padded."""
        return self._points.padded()

    def normals_list(self) -> list[torch.Tensor] | None:
        """List of N (P_i, 3) normals, or None without normals."""
        return None if self._normals is None else self._normals.list()

    def normals_packed(self) -> torch.Tensor | None:
        """(sum P_i, 3) packed normals, or None."""
        return None if self._normals is None else self._normals.packed()

    def normals_padded(self) -> torch.Tensor | None:
        """(N, max P_i, 3) normals, zero-padded, or None."""
        return None if self._normals is None else self._normals.padded()

    def features_list(self) -> list[torch.Tensor] | None:
        """List of N (P_i, C) features, or None without features."""
        return None if self._features is None else self._features.list()

    def features_packed(self) -> torch.Tensor | None:
        """(sum P_i, C) packed features, or None."""
        return None if self._features is None else self._features.packed()

    def features_padded(self) -> torch.Tensor | None:
        """(N, max P_i, C) features, zero-padded, or None."""
        return None if self._features is None else self._features.padded()

    def get_cloud(
        self, index: int
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Points (P_i, 3), normals (P_i, 3) or None and features (P_i, C) or None of cloud
        ``index``."""
        index = item_index("get_cloud", index, self._N)
        normals, features = self.normals_list(), self.features_list()
        return (
            self.points_list()[index],
            None if normals is None else normals[index],
            None if features is None else features[index],
        )

    def get_bounding_boxes(self) -> torch.Tensor:
        """(N, 3, 2) per-cloud bounds: ``[i, :, 0]`` the minima, ``[i, :, 1]`` the maxima
        (zeros for an empty cloud)."""
        return bounding_boxes(self._layout, self.points_padded())

    def inside_box(self, box: torch.Tensor) -> torch.Tensor:
        """Which packed points lie inside an axis-aligned box (bounds included).

        Args:
            box: (2, 3) box for every cloud or (N, 2, 3) one per cloud; ``box[..., 0, :]`` is
                the minimum corner and ``box[..., 1, :]`` the maximum.
        Returns:
            (sum P_i,) bool tensor.
        """
        check_float_tensor("inside_box", "box", box, self.device)
        if box.dim() == 2:
            box = box[None]
        if box.dim() != 3 or box.shape[1:] != (2, 3) or box.shape[0] not in (1, self._N):
            raise InputError(
                f"inside_box: box must have shape (2, 3) or ({self._N}, 2, 3), "
                f"got {describe(box)}"
            )
        if bool((box[:, 0] > box[:, 1]).any()):
            raise InputError("inside_box: box minima must not exceed its maxima")
        if box.shape[0] == 1:
            lo, hi = box[0, 0], box[0, 1]
        else:
            item = self._layout.packed_to_item()
            lo, hi = box[item, 0], box[item, 1]
        points = self.points_packed()
        return ((points >= lo) & (points <= hi)).all(dim=-1)

    def estimate_normals(
        self,
        neighborhood_size: int = 50,
        disambiguate_directions: bool = True,
        assign_to_self: bool = False,
    ) -> torch.Tensor:
        """Normals of every point from the covariance of its neighbourhood, PyTorch3D's method.

        Args:
            neighborhood_size, disambiguate_directions: see
                :func:`r3d.ops.estimate_pointcloud_normals`, which does the work.
            assign_to_self: also store them as the clouds' normals (replacing any).
        Returns:
            (N, max P_i, 3) unit normals, zero rows for padding.
        """
        # r3d.ops is a layer above the structures: imported at call time (tests/test_layers.py)
        from r3d.ops.points_normals import estimate_pointcloud_normals

        normals = estimate_pointcloud_normals(self, neighborhood_size, disambiguate_directions)
        if assign_to_self:
            self._normals = RowField(self._layout, padded=normals)
        return normals

    # ---- copies ------------------------------------------------------------------------------
    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor], device: torch.device):
        return map_tensors(self, fn, device)

    def clone(self) -> Pointclouds:
        """Deep copy (gradients still flow to the original)."""
        return self._map(lambda t: t.clone(), self.device)

    def detach(self) -> Pointclouds:
        """Copy whose tensors are detached from the autograd graph (storage shared)."""
        return self._map(lambda t: t.detach(), self.device)

    def to(self, device: torch.device | str, copy: bool = False) -> Pointclouds:
        """The batch on ``device``: self when already there (unless ``copy``), else a copy."""
        device = resolve_device(device)
        if device == self.device:
            return self.clone() if copy else self
        return self._map(lambda t: t.to(device), device)

    def cpu(self) -> Pointclouds:
        """The batch on the CPU."""
        return self.to("cpu")

    def cuda(self) -> Pointclouds:
        """The batch on the current CUDA device."""
        return self.to("cuda")

    # ---- selection, batching -----------------------------------------------------------------
    def _select(self, idx: list[int], fn: Callable[[torch.Tensor], torch.Tensor]) -> Pointclouds:
        def pick(xs: list[torch.Tensor] | None) -> list[torch.Tensor] | None:
            return None if xs is None else [fn(xs[i]) for i in idx]

        points = pick(self.points_list())
        if not idx:  # keep the dtype, device and feature width of an empty selection
            empty = Pointclouds([]).to(self.device)
            empty._points.dtype = self._points.dtype
            for name in ("_normals", "_features"):
                field = getattr(self, name)
                if field is not None:
                    setattr(empty, name, RowField(empty._layout, list_=[],
                                                  row_shape=field.row_shape, dtype=field.dtype))
            empty._C = self._C
            return empty
        return Pointclouds(points, pick(self.normals_list()), pick(self.features_list()))

    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> Pointclouds:
        """A new Pointclouds of the selected clouds (int, slice, list of ints, (N,) bool tensor
        or 1-d int64 tensor)."""
        return self._select(as_index_list(index, self._N), lambda t: t)

    def split(self, split_sizes: Sequence[int]) -> list[Pointclouds]:
        """Splits the batch into consecutive Pointclouds of ``split_sizes`` clouds each (the
        sizes must add up to N)."""
        return split_batch(self, split_sizes)

    def extend(self, N: int) -> Pointclouds:
        """A batch of len(self) * N clouds: each cloud repeated N times in a row (cloned)."""
        check_positive_int("extend", "N", N)
        return self._select([i for i in range(self._N) for _ in range(N)], lambda t: t.clone())

    # ---- changing the points -----------------------------------------------------------------
    def offset_(self, offsets_packed: torch.Tensor) -> Pointclouds:
        """Adds offsets to the points in place; returns self.

        Args:
            offsets_packed: (3,) offset for every point or (sum P_i, 3) per-point offsets.
        """
        new, _ = offset_packed(
            "offset_", "offsets_packed", self.points_packed(), offsets_packed, self.device
        )
        self._points = RowField(self._layout, packed=new)
        return self

    def offset(self, offsets_packed: torch.Tensor) -> Pointclouds:
        """Out-of-place :meth:`offset_`: a clone with offset points."""
        return self.clone().offset_(offsets_packed)

    def scale_(self, scale: float | torch.Tensor) -> Pointclouds:
        """Multiplies each cloud's points by a scale in place (normals unchanged); returns self.

        Args:
            scale: a float, a 0-d tensor or an (N,) tensor with one scale per cloud.
        """
        new = scale_packed("scale_", self.points_packed(), self._layout, scale, self.device)
        self._points = RowField(self._layout, packed=new)
        return self

    def scale(self, scale: float | torch.Tensor) -> Pointclouds:
        """Out-of-place :meth:`scale_`: a clone with scaled points."""
        return self.clone().scale_(scale)

    def update_padded(
        self,
        new_points_padded: torch.Tensor,
        new_normals_padded: torch.Tensor | None = None,
        new_features_padded: torch.Tensor | None = None,
    ) -> Pointclouds:
        """A new Pointclouds with the same sizes whose points are ``new_points_padded``
        (N, max P_i, 3); normals (N, max P_i, 3) and features (N, max P_i, C) are replaced when
        given and shared otherwise. Rows past P_i are ignored."""
        op = "update_padded"
        p = self._layout.max_size
        checks = [("new_points_padded", new_points_padded, 3)]
        if new_normals_padded is not None:
            checks.append(("new_normals_padded", new_normals_padded, 3))
        if new_features_padded is not None:
            if self._features is None:
                raise InputError(f"{op}: new_features_padded given but the clouds have none")
            checks.append(("new_features_padded", new_features_padded, self._C))
        for name, t, d in checks:
            check_float_tensor(op, name, t, self.device)
            if tuple(t.shape) != (self._N, p, d):
                raise InputError(f"{op}: {name} must have shape {(self._N, p, d)}, "
                                 f"got {describe(t)}")
        new = Pointclouds.__new__(Pointclouds)
        new.__dict__.update(self.__dict__)
        new._points = RowField(self._layout, padded=new_points_padded)
        if new_normals_padded is not None:
            new._normals = RowField(self._layout, padded=new_normals_padded)
        if new_features_padded is not None:
            new._features = RowField(self._layout, padded=new_features_padded)
        return new

    def subsample(
        self,
        max_points: int | Sequence[int],
        generator: torch.Generator | None = None,
    ) -> Pointclouds:
        """Keeps at most ``max_points`` random points of each cloud (in their original order).

        Args:
            max_points: one int for all clouds, or N of them: a list or tuple of ints, or an
                (N,) integer tensor (float tensors of whole numbers too, as in PyTorch3D).
            generator: optional CPU torch.Generator for reproducible choices.
        Returns:
            a new Pointclouds, or self when no cloud has too many points.
        """
        limits = _max_points_list(max_points, self._N)
        lengths = self._layout.lengths
        if all(n <= m for n, m in zip(lengths, limits)):
            return self
        keep = []
        for n, m, start in zip(lengths, limits, self._layout.first_idx().tolist()):
            if n <= m:
                keep.append(torch.arange(start, start + n))
            else:
                keep.append(torch.randperm(n, generator=generator)[:m].sort().values + start)
        idx = torch.cat(keep).to(self.device)
        layout = BatchLayout([min(n, m) for n, m in zip(lengths, limits)], self.device)

        def take(field: RowField | None) -> list[torch.Tensor] | None:
            return None if field is None else layout.packed_to_list(field.packed()[idx])

        return Pointclouds(take(self._points), take(self._normals), take(self._features))


def _max_points_list(max_points: Any, n: int) -> list[int]:
    """``subsample``'s max_points as N non-negative ints, or InputError."""
    values = max_points
    if isinstance(max_points, torch.Tensor):
        if max_points.dim() > 1 or max_points.dtype == torch.bool or max_points.is_complex():
            values = None
        elif max_points.dim() == 1:
            values = max_points.tolist()
    if isinstance(values, (list, tuple)):
        if len(values) != n:
            values = None
    elif values is not None:
        values = [values] * n
    out = []
    for v in values or [None]:
        if isinstance(v, torch.Tensor) and v.dim() == 0:
            v = v.item()
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(
                f"subsample: max_points must be an int >= 0, or {n} of them (a list or an "
                f"({n},) tensor), got {max_points!r}"
            )
        out.append(v)
    return out


def join_pointclouds_as_batch(pointclouds: Sequence[Pointclouds]) -> Pointclouds:
    """Concatenates a list of Pointclouds into one batch.

    Args:
        pointclouds: list of Pointclouds on one device; either all or none have normals, and
            likewise features (with one width C).
    Returns:
        Pointclouds whose clouds are those of every input in order.
    """
    op = "join_pointclouds_as_batch"
    if isinstance(pointclouds, Pointclouds) or not isinstance(pointclouds, (list, tuple)):
        raise InputError(f"{op}: pointclouds must be a list of Pointclouds, "
                         f"got {describe(pointclouds)}")
    if not pointclouds:
        return Pointclouds([])
    for i, p in enumerate(pointclouds):
        if not isinstance(p, Pointclouds):
            raise InputError(f"{op}: pointclouds[{i}] must be Pointclouds, got {describe(p)}")
    if len({p.device for p in pointclouds}) > 1:
        raise InputError(f"{op}: pointclouds must be on one device, got "
                         f"{sorted({str(p.device) for p in pointclouds})}")
    fields = {}
    for name in ("points", "normals", "features"):
        lists = [getattr(p, f"{name}_list")() for p in pointclouds]
        have = [x is not None for x in lists]
        if any(have) and not all(have):
            raise InputError(f"{op}: either all or none of the pointclouds must have {name}")
        fields[name] = [t for x in lists for t in x] if all(have) else None
    if fields["features"] is not None and len({p._C for p in pointclouds}) > 1:
        raise InputError(f"{op}: features must all have the same number of channels, got "
                         f"{[p._C for p in pointclouds]}")
    return Pointclouds(fields["points"], fields["normals"], fields["features"])


def join_pointclouds_as_scene(
    pointclouds: Pointclouds | Sequence[Pointclouds],
) -> Pointclouds:
    """Merges all clouds into a single cloud.

    Args:
        pointclouds: a Pointclouds batch, or a list of them (joined as a batch first).
    Returns:
        Pointclouds of length 1 holding the packed points (and normals and features).
    """
    if not isinstance(pointclouds, Pointclouds):
        pointclouds = join_pointclouds_as_batch(pointclouds)
    if len(pointclouds) == 1:
        return pointclouds
    normals, features = pointclouds.normals_packed(), pointclouds.features_packed()
    return Pointclouds(
        points=[pointclouds.points_packed()],
        normals=None if normals is None else [normals],
        features=None if features is None else [features],
    )
