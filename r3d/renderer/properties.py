"""Batched renderer parameters (lights, materials): PyTorch3D's ``TensorProperties``.

Each parameter is stored as an (N, ...) tensor, the first dim being the batch. r3d's lights and
materials take each parameter for one item or for N; those given once are copied to all N (see
:func:`r3d.renderer.cameras._broadcast` for dtypes and devices), so that writing one item never
changes another. Classes written for PyTorch3D call the generic constructor
``TensorProperties(dtype, device, **params)``, whose rules are PyTorch3D's (see its docstring).

As in PyTorch3D, ``lights[i]`` (an int or a slice) is a :class:`TensorAccessor`: reading
``lights[i].location`` gives item i's row (a view), and ``lights[i].location = c`` writes c into
the batch in place.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import _broadcast, default_device
from r3d.transforms._common import broadcast_batch
from r3d.value_checks import checked_range

__all__ = ["COLOR_PARAMS", "TensorAccessor", "TensorProperties", "expand_like"]

# the colour parameters of lights and materials: (N, C), one C per object
COLOR_PARAMS = ("ambient_color", "diffuse_color", "specular_color")

# the values the generic constructor stores as batched tensors (others are kept as they are)
_BATCHED_TYPES = (int, float, list, tuple, torch.Tensor, np.ndarray)


class TensorProperties:
    """N items of named tensor parameters.

    Args:
        dtype: the dtype of the parameters given as numbers, sequences or arrays (tensors keep
            theirs).
        device: where the parameters live; default: that of the first tensor not on the CPU,
            else the CPU.
        params: name -> value. Numbers, sequences, arrays and tensors become tensors whose
            first dim is the batch (a number: a batch of 1), broadcast to the largest batch N
            (each batch is 1 or N); other values (None, strings, bools, objects) are stored as
            they are.
    """

    def __init__(self, dtype: torch.dtype = torch.float32, device=None, **params) -> None:
        op = type(self).__name__
        tensors = {}
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, _BATCHED_TYPES):
                setattr(self, name, value)
                continue
            try:
                t = value if isinstance(value, torch.Tensor) else \
                    torch.as_tensor(value, dtype=dtype)
            except (TypeError, ValueError, RuntimeError) as err:
                raise InputError(f"{op}: {name} is not a tensor of numbers: {err}") from err
            tensors[name] = t.reshape(1) if t.dim() == 0 else t
        device = default_device(tensors.values(), device)
        n = broadcast_batch(
            op, f"the batch sizes of {', '.join(tensors)}", [len(t) for t in tensors.values()]
        )
        self._store({k: t.to(device).expand(n, *t.shape[1:]) for k, t in tensors.items()}, device)

    def _init_params(self, device, **specs: tuple[object, tuple[int | None, ...]]) -> None:
        """r3d's constructor of lights and materials: ``name=(value, trailing_shape)``, a value
        being one item (``trailing_shape``) or N; see :func:`r3d.renderer.cameras._broadcast`."""
        params = _broadcast(type(self).__name__, specs, device)
        self._store(params, default_device(params.values(), device))

    def _store(self, params: dict[str, torch.Tensor], device: torch.device) -> None:
        self._names = tuple(params)
        self._N = len(next(iter(params.values()))) if params else 0
        self.device = device
        for name, value in params.items():
            setattr(self, name, value.contiguous())

    def _check_channels(self, names: tuple[str, ...]) -> None:
        """InputError unless the (N, C) parameters ``names`` share their channel count C."""
        channels = {name: getattr(self, name).shape[-1] for name in names}
        if len(set(channels.values())) > 1:
            raise InputError(
                f"{type(self).__name__}: {', '.join(names)} must have the same number of "
                f"channels, got {channels}"
            )

    def __len__(self) -> int:
        return self._N

    def isempty(self) -> bool:
        """Whether the batch has no items (N = 0)."""
        return self._N == 0

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in vars(self).items() if isinstance(v, torch.Tensor)}

    def to(self, device: torch.device | str = "cpu") -> TensorProperties:
        """Moves every tensor attribute to ``device`` in place (as PyTorch3D does); returns
        self."""
        self.device = torch.device(device)
        for name, value in self._tensors().items():
            setattr(self, name, value.to(self.device))
        return self

    def cpu(self) -> TensorProperties:
        """``self.to("cpu")``."""
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> TensorProperties:
        """``self.to("cuda")``, or ``"cuda:<device>"``."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    def clone(self, other: TensorProperties | None = None) -> TensorProperties:
        """A copy: tensors cloned (gradients flow back to the originals), other attributes
        deep-copied. As in PyTorch3D, ``other`` (an object to fill) may be given; default: a new
        object of this class."""
        out = object.__new__(type(self)) if other is None else other
        for name, value in vars(self).items():
            setattr(out, name, value.clone() if isinstance(value, torch.Tensor)
                    else copy.deepcopy(value))
        return out

    def gather_props(self, batch_idx: torch.Tensor) -> TensorProperties:
        """Replaces, in place, every tensor attribute of N > 1 items by its items at
        ``batch_idx`` (``torch.gather`` along the batch dim); those of one item stay, since
        they broadcast. Typical use: ``batch_idx = meshes.verts_packed_to_mesh_idx()`` (V,)
        turns (N, 3) colours into (V, 3), one per packed vertex.

        Args:
            batch_idx: int64 (B, ...) with at most as many dims as each attribute; its trailing
                dims broadcast against the attribute's.
        Returns:
            self. ``len(self)`` stays N, as in PyTorch3D.
        """
        op = f"{type(self).__name__}.gather_props"
        if not isinstance(batch_idx, torch.Tensor) or batch_idx.dtype != torch.int64:
            raise InputError(f"{op}: batch_idx must be an int64 tensor, got {describe(batch_idx)}")
        for name, value in self._tensors().items():
            if value.dim() == 0 or len(value) <= 1:
                continue
            if batch_idx.dim() > value.dim():
                raise InputError(
                    f"{op}: batch_idx {tuple(batch_idx.shape)} has more dims than {name} "
                    f"{tuple(value.shape)}"
                )
            idx = checked_range(op, "batch_idx", batch_idx.to(value.device), 0, len(value))
            idx = idx.reshape(*idx.shape, *[1] * (value.dim() - idx.dim()))
            try:
                idx = idx.expand(-1, *value.shape[1:])
            except RuntimeError as err:
                raise InputError(
                    f"{op}: batch_idx {tuple(batch_idx.shape)} does not broadcast against "
                    f"{name} {tuple(value.shape)}"
                ) from err
            setattr(self, name, value.gather(0, idx))
        return self

    def __getitem__(self, index: int | slice) -> TensorAccessor:
        """Items ``index`` of the batch, read and written in place (see
        :class:`TensorAccessor`)."""
        if isinstance(index, bool) or not isinstance(index, (int, slice)):
            raise InputError(
                f"{type(self).__name__}[index]: index must be an int or a slice, got "
                f"{describe(index)}"
            )
        return TensorAccessor(self, index)

    def _write(self, name: str, index: int | slice, value: object) -> None:
        """Writes value into items ``index`` of parameter ``name``, in place."""
        where = f"{type(self).__name__}[{index}].{name}"
        if name not in self._names:
            raise InputError(f"{where}: no such parameter; the parameters are {list(self._names)}")
        t = getattr(self, name)
        if any(stride == 0 and size > 1 for stride, size in zip(t.stride(), t.shape)):
            t = t.clone()  # a broadcast view assigned by hand: give each item its own memory
            setattr(self, name, t)
        try:
            value = torch.as_tensor(value, dtype=t.dtype, device=t.device)
            t[index] = value
        except (TypeError, ValueError, RuntimeError) as err:
            raise InputError(
                f"{where}: cannot write {describe(value)} into the items of shape "
                f"{tuple(t[index].shape)}: {err}"
            ) from err


class TensorAccessor:
    """Items of a :class:`TensorProperties` batch (PyTorch3D's ``TensorAccessor``), made by
    ``props[index]``.

    Reading a parameter gives ``getattr(props, name)[index]``: for an int index the item's
    (...) values without the batch dim, for a slice the (k, ...) rows; both are views, so
    in-place changes reach the batch. Assigning a parameter writes the value (a tensor, number
    or sequence, broadcast to those items) into the batch in place.
    """

    def __init__(self, props: TensorProperties, index: int | slice) -> None:
        object.__setattr__(self, "_props", props)
        object.__setattr__(self, "_index", index)

    def __getattr__(self, name: str) -> torch.Tensor:
        props = object.__getattribute__(self, "_props")
        if name not in props._names:
            raise AttributeError(
                f"{type(props).__name__}[index] has no parameter {name!r}; the parameters are "
                f"{list(props._names)}"
            )
        return getattr(props, name)[object.__getattribute__(self, "_index")]

    def __setattr__(self, name: str, value: object) -> None:
        self._props._write(name, self._index, value)


def expand_like(param: object, like: torch.Tensor, channels: bool = True) -> torch.Tensor:
    """A batched parameter viewed to broadcast against ``like``, as PyTorch3D's lighting
    functions reshape theirs.

    Args:
        param: with ``channels``: (N, C) or (C,) (one item), else (N,) or a number; a tensor of
            like's shape is returned as is. Numbers and sequences become tensors of like's
            dtype and device.
        like: (N, d_1, ..., d_k, C) with ``channels``, else (N, d_1, ..., d_k); N may differ
            from param's N where either is 1.
    Returns:
        param as (N, 1, ..., 1, C) or (N, 1, ..., 1), with ``like.dim()`` dims.
    """
    if not isinstance(param, torch.Tensor):
        param = torch.as_tensor(param, dtype=like.dtype, device=like.device)
    if param.shape == like.shape:
        return param
    if param.dim() == 0:
        return param.reshape([1] * like.dim())
    trailing = param.shape[-1:] if channels else ()
    return param.reshape(-1, *[1] * (like.dim() - 1 - len(trailing)), *trailing)
