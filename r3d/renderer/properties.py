"""Batched renderer parameters (lights, materials): PyTorch3D's ``TensorProperties`` idea.

Each parameter is given for one item or for N and stored as an (N, ...) tensor of its own
memory; those given once are copied to all N (see :func:`r3d.renderer.cameras._broadcast` for
dtypes and devices), so that writing one item never changes another.

As in PyTorch3D, ``lights[i]`` (an int or a slice) is a :class:`TensorAccessor`: reading
``lights[i].location`` gives item i's row (a view), and ``lights[i].location = c`` writes c into
the batch in place.
"""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import _broadcast

__all__ = ["TensorAccessor", "TensorProperties", "expand_like"]


class TensorProperties:
    """N items of named tensor parameters.

    Subclasses call ``super().__init__(device, name=(value, trailing_shape), ...)``; each
    parameter then is an attribute holding an (N, *trailing_shape) tensor.
    """

    def __init__(self, device=None, **specs: tuple[object, tuple[int, ...]]) -> None:
        self._names = tuple(specs)
        for name, value in _broadcast(type(self).__name__, specs, device).items():
            setattr(self, name, value.contiguous())

    def __len__(self) -> int:
        return len(getattr(self, self._names[0]))

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return getattr(self, self._names[0]).device

    def _map(self, fn) -> TensorProperties:
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        for name in self._names:
            setattr(out, name, fn(getattr(self, name)))
        return out

    def clone(self) -> TensorProperties:
        """A copy with cloned parameters (gradients flow back to the originals)."""
        return self._map(torch.clone)

    def to(self, device: torch.device | str) -> TensorProperties:
        """The same parameters on ``device``."""
        return self._map(lambda t: t.to(device))

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


def expand_like(param: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """An (N, ...) parameter viewed to broadcast against ``like`` (N, d_1, ..., d_k, C).

    Args:
        param: (N, C) or (N,) tensor (N may be 1).
        like: tensor with the batch first and channels last.
    Returns:
        param as (N, 1, ..., 1, C) or (N, 1, ..., 1) with ``like.dim()`` or ``like.dim() - 1``
        dims.
    """
    inner = [1] * (like.dim() - 2)
    if param.dim() == 1:
        return param.view(param.shape[0], *inner)
    return param.view(param.shape[0], *inner, param.shape[-1])
