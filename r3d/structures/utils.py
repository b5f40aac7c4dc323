"""List / padded / packed machinery shared by :class:`Meshes` and :class:`Pointclouds`.

A batch holds N items (meshes, clouds) of variable length; item i has ``K_i`` rows (vertices,
faces, points) of D values each. One per-row attribute can be held in three forms:

- list: N tensors of shape (K_i, D);
- padded: one (N, M, D) tensor with M >= max K_i, rows past K_i filled with a pad value;
- packed: one (sum K_i, D) tensor, the items one after the other.

:class:`BatchLayout` knows the lengths and builds the index tensors that relate the forms;
:class:`RowField` holds one attribute in whichever forms have been asked for, computing the
others lazily (float conversions go through :func:`r3d.ops.packed_to_padded` and
:func:`r3d.ops.padded_to_packed`, so they are differentiable).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch

from r3d._checks import check_positive_int, describe
from r3d.errors import BatchIndexError, InputError
from r3d.structures.packed_padded import packed_to_padded, padded_to_packed
from r3d.value_checks import tracing

__all__ = [
    "BatchLayout",
    "RowField",
    "as_index_list",
    "bounding_boxes",
    "check_float_tensor",
    "check_positive_int",
    "check_tensor_list",
    "describe",
    "is_empty_item",
    "item_index",
    "list_to_packed",
    "list_to_padded",
    "map_tensors",
    "offset_packed",
    "packed_to_list",
    "padded_to_list",
    "resolve_device",
    "scale_packed",
    "split_batch",
]


def cacheable(t: torch.Tensor) -> bool:
    """Whether a computed tensor may be kept in a structure's cache: not while torch.compile or
    torch.export traces it (it is a placeholder then, and the structure outlives the trace)."""
    return not tracing(t)


class BatchLayout:
    """Lengths of the N items of a batch and the index tensors derived from them.

    Args:
        lengths: N non-negative ints, the number of rows of each item.
        device: where the index tensors live.
        max_size: M, the padded size; ``max(lengths)`` (0 for an empty batch) when None.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        device: torch.device | str,
        max_size: int | None = None,
    ) -> None:
        self.lengths: list[int] = [int(n) for n in lengths]
        self.N = len(self.lengths)
        self.total = sum(self.lengths)
        longest = max(self.lengths, default=0)
        self.max_size = longest if max_size is None else int(max_size)
        if self.max_size < longest:
            raise InputError(f"max_size must be at least {longest}, got {self.max_size}")
        self.device = torch.device(device)
        self._cache: dict[str, torch.Tensor] = {}

    # ---- index tensors -------------------------------------------------------------------
    def _cached(self, key: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        t = self._cache.get(key)
        if t is None:
            t = make()
            if cacheable(t):
                self._cache[key] = t
        return t

    def lengths_tensor(self) -> torch.Tensor:
        """(N,) int64 number of rows of each item."""
        return self._cached(
            "lengths",
            lambda: torch.tensor(self.lengths, dtype=torch.int64, device=self.device),
        )

    def first_idx(self) -> torch.Tensor:
        """(N,) int64 index of each item's first row in the packed form."""

        def make() -> torch.Tensor:
            firsts, start = [], 0
            for n in self.lengths:
                firsts.append(start)
                start += n
            return torch.tensor(firsts, dtype=torch.int64, device=self.device)

        return self._cached("first_idx", make)

    def packed_to_item(self) -> torch.Tensor:
        """(P,) int64 item index of every packed row (P = sum of the lengths)."""
        return self._cached(
            "packed_to_item",
            lambda: torch.repeat_interleave(
                torch.arange(self.N, device=self.device), self.lengths_tensor(),
                output_size=self.total,
            ),
        )

    def position_in_item(self) -> torch.Tensor:
        """(P,) int64 position of every packed row within its item."""

        def make() -> torch.Tensor:
            start = self.first_idx()[self.packed_to_item()]
            return torch.arange(self.total, device=self.device) - start

        return self._cached("position", make)

    def padded_to_packed_idx(self) -> torch.Tensor:
        """(P,) int64: packed row p is row ``idx[p]`` of the padded form viewed as (N*M, D)."""
        return self._cached(
            "padded_to_packed_idx",
            lambda: self.packed_to_item() * self.max_size + self.position_in_item(),
        )

    def padded_mask(self) -> torch.Tensor:
        """(N, M) bool: True where the padded form holds a real row."""
        return self._cached(
            "padded_mask",
            lambda: torch.arange(self.max_size, device=self.device)[None]
            < self.lengths_tensor()[:, None],
        )

    @property
    def equisized(self) -> bool:
        """Whether every item has the same number of rows."""
        return len(set(self.lengths)) <= 1

    @property
    def full(self) -> bool:
        """Whether every item fills the padded size, so padded and packed share their rows."""
        return all(n == self.max_size for n in self.lengths)

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> BatchLayout:
        """A copy whose cached index tensors are ``fn(t)`` (e.g. moved to another device)."""
        new = BatchLayout.__new__(BatchLayout)
        new.__dict__.update(self.__dict__)
        new._cache = {k: fn(v) for k, v in self._cache.items()}
        if new._cache:
            new.device = next(iter(new._cache.values())).device
        return new

    def to(self, device: torch.device | str) -> BatchLayout:
        """A copy on ``device``."""
        device = torch.device(device)
        new = self.map(lambda t: t.to(device))
        new.device = device
        return new

    # ---- conversions ---------------------------------------------------------------------
    def packed_to_list(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(P, *D) -> N views of shape (K_i, *D)."""
        return list(x.split(self.lengths, 0))

    def packed_to_padded(self, x: torch.Tensor, pad_value: float = 0.0) -> torch.Tensor:
        """(P, *D) -> (N, M, *D), rows past each item's length set to ``pad_value``.

        Floating tensors padded with 0 go through the differentiable op
        :func:`r3d.ops.packed_to_padded`; other dtypes or pad values are scattered here.
        """
        if self.full:
            return x.reshape((self.N, self.max_size) + tuple(x.shape[1:]))
        if x.is_floating_point() and pad_value == 0:
            return packed_to_padded(x, self.first_idx(), self.max_size)
        out = x.new_full((self.N, self.max_size) + tuple(x.shape[1:]), pad_value)
        return out.index_put((self.packed_to_item(), self.position_in_item()), x)

    def padded_to_packed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, M, *D) -> (P, *D), dropping the padding rows."""
        if self.full:
            return x.reshape((self.total,) + tuple(x.shape[2:]))
        if x.is_floating_point():
            return padded_to_packed(x, self.first_idx(), self.total)
        return x.reshape((self.N * self.max_size,) + tuple(x.shape[2:]))[
            self.padded_to_packed_idx()
        ]

    def padded_to_list(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, M, *D) -> N views of shape (K_i, *D)."""
        return [x[i, :n] for i, n in enumerate(self.lengths)]

    def list_to_packed(
        self, xs: Sequence[torch.Tensor], row_shape: tuple[int, ...], dtype: torch.dtype
    ) -> torch.Tensor:
        """N tensors (K_i, *D) -> (P, *D); ``row_shape`` and ``dtype`` are used when N == 0."""
        if len(xs) == 0:
            return torch.zeros((0,) + tuple(row_shape), dtype=dtype, device=self.device)
        return torch.cat(list(xs), 0)

    def list_to_padded(
        self,
        xs: Sequence[torch.Tensor],
        row_shape: tuple[int, ...],
        dtype: torch.dtype,
        pad_value: float = 0.0,
    ) -> torch.Tensor:
        """N tensors (K_i, *D) -> (N, M, *D)."""
        if self.N and self.full:
            return torch.stack(list(xs), 0)
        return self.packed_to_padded(self.list_to_packed(xs, row_shape, dtype), pad_value)


class RowField:
    """One per-row attribute of a batch held as list, padded and/or packed, converted lazily.

    Args:
        layout: the batch's :class:`BatchLayout`.
        list_: N tensors (K_i, *D), or None.
        padded: (N, M, *D) tensor, or None.
        packed: (P, *D) tensor, or None. At least one of the three must be given, and they must
            agree with ``layout`` (callers validate user input before building a field).
        pad_value: value of the padding rows of the padded form.
    """

    def __init__(
        self,
        layout: BatchLayout,
        *,
        list_: Sequence[torch.Tensor] | None = None,
        padded: torch.Tensor | None = None,
        packed: torch.Tensor | None = None,
        pad_value: float = 0.0,
        row_shape: tuple[int, ...] | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.layout = layout
        self._list = None if list_ is None else list(list_)
        self._padded = padded
        self._packed = packed
        self.pad_value = pad_value
        if padded is not None:
            row_shape, dtype = tuple(padded.shape[2:]), padded.dtype
        elif packed is not None:
            row_shape, dtype = tuple(packed.shape[1:]), packed.dtype
        elif self._list:
            row_shape, dtype = tuple(self._list[0].shape[1:]), self._list[0].dtype
        elif self._list is None:
            raise InputError("RowField needs one of list_, padded or packed")
        if row_shape is None or dtype is None:
            raise InputError("RowField of an empty batch needs row_shape and dtype")
        self.row_shape: tuple[int, ...] = tuple(row_shape)
        self.dtype: torch.dtype = dtype

    def list(self) -> list[torch.Tensor]:
        """N tensors of shape (K_i, *D)."""
        if self._list is not None:
            return self._list
        if self._packed is not None:
            out = self.layout.packed_to_list(self._packed)
        else:
            out = self.layout.padded_to_list(self._padded)
        if all(cacheable(t) for t in out):
            self._list = out
        return out

    def packed(self) -> torch.Tensor:
        """(sum K_i, *D) tensor."""
        if self._packed is not None:
            return self._packed
        if self._list is not None:
            out = self.layout.list_to_packed(self._list, self.row_shape, self.dtype)
        else:
            out = self.layout.padded_to_packed(self._padded)
        if cacheable(out):
            self._packed = out
        return out

    def padded(self) -> torch.Tensor:
        """(N, M, *D) tensor, padding rows equal to ``pad_value``."""
        if self._padded is not None:
            return self._padded
        if self._packed is None and self._list is not None:
            out = self.layout.list_to_padded(self._list, self.row_shape, self.dtype,
                                             self.pad_value)
        else:
            out = self.layout.packed_to_padded(self.packed(), self.pad_value)
        if cacheable(out):
            self._padded = out
        return out

    def map(
        self, fn: Callable[[torch.Tensor], torch.Tensor], layout: BatchLayout | None = None
    ) -> RowField:
        """A field whose cached tensors are ``fn(t)``; ``layout`` replaces the layout if given."""
        new = RowField.__new__(RowField)
        new.__dict__.update(self.__dict__)
        new.layout = self.layout if layout is None else layout
        new._list = None if self._list is None else [fn(t) for t in self._list]
        new._padded = None if self._padded is None else fn(self._padded)
        new._packed = None if self._packed is None else fn(self._packed)
        return new


# ---- PyTorch3D-style helpers on plain lists --------------------------------------------------
def list_to_padded(
    x: Sequence[torch.Tensor],
    pad_size: Sequence[int] | None = None,
    pad_value: float = 0.0,
    equisized: bool = False,
) -> torch.Tensor:
    """Stacks N tensors of shapes (K_i, *D_i) into one (N, *pad_size) tensor.

    Args:
        x: N tensors with the same number of dimensions, on one device.
        pad_size: the padded per-item shape; the elementwise maximum of the shapes when None.
        pad_value: fill value of the padding.
        equisized: when True the tensors all have the same shape and are simply stacked.
    Returns:
        (N, *pad_size) tensor.
    """
    if equisized:
        return torch.stack(list(x), 0)
    if len(x) == 0:
        raise InputError("list_to_padded: x must hold at least one tensor, got an empty list")
    ndim = x[0].dim()
    if any(t.dim() != ndim for t in x):
        raise InputError("list_to_padded: all tensors in x must have the same number of dims")
    if pad_size is None:
        pad_size = [max(t.shape[d] for t in x) for d in range(ndim)]
    elif len(pad_size) != ndim:
        raise InputError(
            f"list_to_padded: pad_size must have {ndim} entries, got {len(pad_size)}"
        )
    out = x[0].new_full((len(x),) + tuple(pad_size), pad_value)
    for i, t in enumerate(x):
        if t.numel():
            out[(i,) + tuple(slice(0, s) for s in t.shape)] = t
    return out


def padded_to_list(
    x: torch.Tensor, split_size: Sequence[int] | Sequence[Sequence[int]] | None = None
) -> list[torch.Tensor]:
    """Splits an (N, ...) tensor into N tensors, each truncated to ``split_size[i]``.

    Args:
        x: (N, M, ...) tensor.
        split_size: None (keep everything), N ints (rows kept along dim 1) or N sequences of
            ints (sizes kept along the leading dims).
    Returns:
        list of N tensors (views of x).
    """
    items = list(x.unbind(0))
    if split_size is None:
        return items
    if len(split_size) != x.shape[0]:
        raise InputError(
            f"padded_to_list: split_size must have {x.shape[0]} entries, got {len(split_size)}"
        )
    out = []
    for t, s in zip(items, split_size):
        sizes = [s] if isinstance(s, int) else list(s)
        out.append(t[tuple(slice(0, n) for n in sizes)])
    return out


def list_to_packed(
    x: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenates N tensors (K_i, *D) along dim 0.

    Returns:
        packed (sum K_i, *D), num_items (N,) int64, item_packed_first_idx (N,) int64 and
        item_packed_to_list_idx (sum K_i,) int64.
    """
    if len(x) == 0:
        raise InputError("list_to_packed: x must hold at least one tensor, got an empty list")
    layout = BatchLayout([len(t) for t in x], x[0].device)
    return (
        torch.cat(list(x), 0),
        layout.lengths_tensor(),
        layout.first_idx(),
        layout.packed_to_item(),
    )


def packed_to_list(x: torch.Tensor, split_size: int | Sequence[int]) -> list[torch.Tensor]:
    """Splits a packed (P, *D) tensor into tensors of ``split_size`` rows (views)."""
    return list(x.split(split_size, 0))


# ---- misc shared by the structures ----------------------------------------------------------
def is_empty_item(t: object) -> bool:
    """Whether ``t`` is PyTorch3D's idiom for an empty item: a 1-d tensor with no element
    (``torch.tensor([])``)."""
    return isinstance(t, torch.Tensor) and t.dim() == 1 and t.shape[0] == 0


def check_tensor_list(
    name: str,
    xs: object,
    *,
    row_dim: int | None,
    floating: bool,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    allow_none: bool = False,
) -> list[torch.Tensor]:
    """Checks that xs is a list of 2-d tensors (K_i, row_dim) of one kind; returns it as a list
    in which every empty item is a (0, D) tensor like the others.

    Empty items are PyTorch3D's ``torch.tensor([])`` (see :func:`is_empty_item`, of any dtype)
    and, with ``allow_none``, None. They become (0, D) tensors of the other items' width,
    dtype and device (int64 for index lists; when every item is empty: width ``row_dim`` or
    0, a float empty item's dtype or the default one, and the first item's device).

    Args:
        name: argument name used in messages.
        row_dim: required size of dim 1, or None for any (but equal across the list).
        floating: True: floating dtypes required. False: index tensors, of an integer dtype or
            floating (the caller casts them to int64 once it has checked for whole numbers).
        device, dtype: required device / dtype (the first item's when None).
        allow_none: whether None counts as an empty item.
    Raises:
        InputError naming the first bad item.
    """
    if not isinstance(xs, (list, tuple)):
        raise InputError(f"{name} must be a list of tensors, got {describe(xs)}")
    for i, t in enumerate(xs):
        if (t is None and allow_none) or is_empty_item(t):
            continue
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{name}[{i}] must be a torch.Tensor, got {describe(t)}")
        want = "a floating-point" if floating else "an integer or floating-point"
        ok_kind = not t.is_complex() and t.dtype != torch.bool and (
            t.is_floating_point() or not floating)
        if not ok_kind:
            raise InputError(f"{name}[{i}] must be {want} tensor, got {describe(t)}")
        shape_txt = f"(K, {row_dim})" if row_dim is not None else "(K, C)"
        if t.dim() != 2 or (row_dim is not None and t.shape[1] != row_dim):
            raise InputError(
                f"{name}[{i}] must have shape {shape_txt} (or be torch.tensor([]) when empty), "
                f"got {describe(t)}")
        if row_dim is None:
            row_dim = t.shape[1]
        if device is None:
            device = t.device
        elif t.device != device:
            raise InputError(
                f"{name}[{i}] must be on {device} like the other inputs, got {describe(t)}"
            )
        if floating:
            if dtype is None:
                dtype = t.dtype
            elif t.dtype != dtype:
                raise InputError(f"{name}[{i}] must have dtype {dtype}, got {describe(t)}")
    if all(isinstance(t, torch.Tensor) and t.dim() == 2 for t in xs):
        return list(xs)
    if device is None:
        device = next((t.device for t in xs if t is not None), torch.device("cpu"))
    if not floating:
        dtype = torch.int64
    elif dtype is None:
        dtype = next((t.dtype for t in xs if isinstance(t, torch.Tensor)
                      and t.is_floating_point()), torch.get_default_dtype())
    fill = torch.zeros((0, row_dim or 0), dtype=dtype, device=device)
    return [t if isinstance(t, torch.Tensor) and t.dim() == 2 else fill for t in xs]


def as_index_list(index: object, n: int) -> list[int]:
    """Normalises a batch index to a list of non-negative ints in [0, n).

    Args:
        index: an int (or 0-d integer tensor), a slice, a list/tuple of ints, a 1-d bool tensor
            of length n or a 1-d integer tensor.
        n: batch size.
    Returns:
        the selected items, in order. Raises :class:`BatchIndexError` (an IndexError and a
        ValueError) for anything else or out of range.
    """
    if isinstance(index, slice):
        return list(range(n))[index]
    if isinstance(index, torch.Tensor):
        if index.dim() > 1 or index.is_floating_point() or index.is_complex() \
                or (index.dim() == 0 and index.dtype == torch.bool):
            raise BatchIndexError(
                f"a tensor index must be 1-d bool or integer, got {describe(index)}")
        if index.dtype == torch.bool:
            if index.shape[0] != n:
                raise BatchIndexError(f"a bool index must have length {n}, got {index.shape[0]}")
            return index.nonzero().flatten().tolist()
        items = index.reshape(-1).tolist()
    elif isinstance(index, (list, tuple)):
        items = list(index)
    else:
        items = [index]
    out = []
    for i in items:
        if isinstance(i, bool):
            raise BatchIndexError("an index must hold ints, not bools (use a bool tensor)")
        try:
            i = operator.index(i)
        except TypeError:
            raise BatchIndexError(f"cannot index a batch with {describe(i)}") from None
        if not -n <= i < n:
            raise BatchIndexError(f"index {i} is out of range for a batch of {n}")
        out.append(i % n)
    return out


def item_index(op: str, index: object, n: int) -> int:
    """``index`` as a non-negative int in [0, n), or :class:`BatchIndexError` (PyTorch3D's
    ``get_mesh_verts_faces`` and ``get_cloud`` raise ValueError here; it is one)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise BatchIndexError(f"{op}: index must be an int, got {describe(index)}")
    if not -n <= index < n:
        raise BatchIndexError(f"{op}: index {index} is out of range for a batch of {n}")
    return index % n


def bounding_boxes(layout: BatchLayout, padded: torch.Tensor) -> torch.Tensor:
    """Axis-aligned bounds of every item.

    Args:
        layout: the batch layout; padded: (N, M, 3) positions.
    Returns:
        (N, 3, 2) tensor: ``[..., 0]`` the minima, ``[..., 1]`` the maxima; zeros for an item
        with no rows. Differentiable w.r.t. ``padded``.
    """
    mask = layout.padded_mask()[..., None]
    inf = float("inf")
    lo = torch.where(mask, padded, inf).amin(1) if layout.max_size else padded.new_zeros(
        (layout.N, padded.shape[-1]))
    hi = torch.where(mask, padded, -inf).amax(1) if layout.max_size else lo
    empty = (layout.lengths_tensor() == 0)[:, None]
    lo = torch.where(empty, torch.zeros_like(lo), lo)
    hi = torch.where(empty, torch.zeros_like(hi), hi)
    return torch.stack([lo, hi], dim=2)


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> Any:
    """A shallow copy of a structure whose every stored tensor is ``fn(t)``.

    Tensors, :class:`RowField` s and :class:`BatchLayout` s found in ``obj.__dict__`` (also
    inside dicts, lists and tuples) are mapped; a field keeps pointing at the mapped copy of its
    layout. Anything else (textures, ints, flags) is shared: callers replace it as needed.
    """
    new = type(obj).__new__(type(obj))
    layouts: dict[int, BatchLayout] = {}

    def m(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return fn(x)
        if isinstance(x, BatchLayout):
            if id(x) not in layouts:
                layouts[id(x)] = x.map(fn)
                layouts[id(x)].device = device
            return layouts[id(x)]
        if isinstance(x, RowField):
            return x.map(fn, m(x.layout))
        if isinstance(x, dict):
            return {k: m(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(m(v) for v in x)
        return x

    new.__dict__.update({k: m(v) for k, v in obj.__dict__.items()})
    new.device = device
    return new


def resolve_device(device: torch.device | str) -> torch.device:
    """``device`` as a torch.device, with a bare "cuda" resolved to the current CUDA device."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device



def split_batch(obj: Any, split_sizes: Any) -> list[Any]:
    """Splits a batch into consecutive batches of ``split_sizes`` items (adding up to len(obj)),
    using ``obj[start:stop]``."""
    n = len(obj)
    if not isinstance(split_sizes, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in split_sizes
    ):
        raise InputError(
            f"split: split_sizes must be a list of non-negative ints, got {split_sizes!r}"
        )
    if sum(split_sizes) != n:
        raise InputError(
            f"split: split_sizes must add up to the batch size {n}, got {sum(split_sizes)}"
        )
    out, start = [], 0
    for s in split_sizes:
        out.append(obj[start:start + s])
        start += s
    return out


def check_float_tensor(op: str, name: str, t: Any, device: torch.device) -> None:
    """Raises InputError unless t is a floating-point tensor on ``device``."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise InputError(f"{op}: {name} must be a float tensor, got {describe(t)}")
    if t.device != device:
        raise InputError(f"{op}: {name} must be on {device}, got {describe(t)}")


def offset_packed(
    op: str, name: str, packed: torch.Tensor, offsets: Any, device: torch.device
) -> tuple[torch.Tensor, bool]:
    """``packed + offsets`` for offsets of shape (3,) or like packed (P, 3).

    Returns:
        the (P, 3) sum and whether the offsets were per row.
    """
    check_float_tensor(op, name, offsets, device)
    shape = tuple(offsets.shape)
    if shape != (3,) and shape != tuple(packed.shape):
        raise InputError(
            f"{op}: {name} must have shape (3,) or {tuple(packed.shape)}, got {describe(offsets)}"
        )
    return packed + offsets, shape != (3,)


def scale_packed(
    op: str, packed: torch.Tensor, layout: BatchLayout, scale: Any, device: torch.device
) -> torch.Tensor:
    """Multiplies each item's rows of a packed (P, 3) tensor by its scale.

    Args:
        scale: a float, a 0-d tensor or an (N,) tensor.
    Returns:
        (P, 3) tensor.
    """
    if isinstance(scale, torch.Tensor):
        check_float_tensor(op, "scale", scale, device)
        if scale.dim() == 0:
            scale = scale.expand(layout.N)
        if tuple(scale.shape) == (layout.N,):
            return packed * scale[layout.packed_to_item()][:, None]
    elif isinstance(scale, (int, float)) and not isinstance(scale, bool):
        return packed * float(scale)
    raise InputError(
        f"{op}: scale must be a float or a tensor of shape ({layout.N},), got {describe(scale)}"
    )


def corners_to_verts(
    grad_corners: torch.Tensor, faces: torch.Tensor, num_verts: int
) -> torch.Tensor:
    """The gradient (num_verts, 3) of verts from that of their face corners (F, 3, 3), faces
    (F, 3) indexing the verts: each corner's row added onto its vertex."""
    return grad_corners.new_zeros(num_verts, 3).index_add_(
        0, faces.reshape(-1), grad_corners.reshape(-1, 3))
