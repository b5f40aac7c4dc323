"""Batched renderer parameters (lights, materials): PyTorch3D's ``TensorProperties`` idea.

Each parameter is given for one item or for N and stored as an (N, ...) tensor; those given
once apply to all N (see :func:`r3d.renderer.cameras._broadcast` for dtypes and devices).
"""

from __future__ import annotations

import torch

from r3d.renderer.cameras import _broadcast

__all__ = ["TensorProperties", "expand_like"]


class TensorProperties:
    """N items of named tensor parameters.

    Subclasses call ``super().__init__(device, name=(value, trailing_shape), ...)``; each
    parameter then is an attribute holding an (N, *trailing_shape) tensor.
    """

    def __init__(self, device=None, **specs: tuple[object, tuple[int, ...]]) -> None:
        self._names = tuple(specs)
        for name, value in _broadcast(type(self).__name__, specs, device).items():
            setattr(self, name, value)

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

    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> TensorProperties:
        """The items ``index`` (an int keeps a batch of one)."""
        if isinstance(index, int):
            index = [index]
        return self._map(lambda t: t[index])


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
