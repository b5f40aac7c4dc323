"""Standard contenders of an op's benchmark: r3d's native kernel, its pure-PyTorch twin and the
op of the same name in PyTorch3D when that is importable."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import torch

from r3d._native import core
from r3d.bench.registry import Contender, register_case

# A variant of an op's case: (name suffix, setup(size, device), make_run(op) -> run(inputs),
# what is measured in words). make_run adapts an op to the case's inputs.
Variant = tuple[str, Callable[[int, torch.device], Any], Callable[[Callable], Callable], str]


def native_available(device: torch.device) -> str | None:
    """None when r3d has a native float32 kernel for ``device``, else why not."""
    if core.has_native(device, torch.float32):
        return None
    cuda = "with" if core.built_with_cuda() else "without"
    return f"no native kernel for {device.type} (r3d was built {cuda} CUDA)"


def _pytorch3d_op(module: str, name: str) -> Callable | None:
    """``<module>.<name>`` of PyTorch3D, or None when PyTorch3D cannot be imported."""
    try:
        return getattr(importlib.import_module(module), name)
    except Exception:  # noqa: BLE001 - any failure to import means "not available"
        return None


def pytorch3d_contender(
    name: str, make_run: Callable[[Callable], Callable], module: str = "pytorch3d.ops"
) -> Contender:
    """A contender running PyTorch3D's ``module.name`` (looked up when first run)."""

    bound: list[Callable] = []

    def run(x):
        if not bound:
            bound.append(make_run(_pytorch3d_op(module, name)))
        return bound[0](x)

    def available(device: torch.device) -> str | None:
        return None if _pytorch3d_op(module, name) is not None else "pytorch3d is not installed"

    return Contender("pytorch3d", run, kind="peer", available=available)


def op_contenders(
    native: Callable,
    torch_op: Callable,
    make_run: Callable[[Callable], Callable],
    pytorch3d_name: str | None = None,
    torch_max_size: int | None = None,
    pytorch3d_module: str = "pytorch3d.ops",
) -> list[Contender]:
    """r3d's op (native where it can be), its pure-PyTorch twin (not run above
    ``torch_max_size`` when given) and, when named, PyTorch3D's ``pytorch3d_module.name``."""
    contenders = [
        Contender("r3d", make_run(native), "native", native_available),
        Contender("torch", make_run(torch_op), "torch", max_size=torch_max_size),
    ]
    if pytorch3d_name is not None:
        contenders.append(pytorch3d_contender(pytorch3d_name, make_run, pytorch3d_module))
    return contenders


def register_op_cases(
    name: str,
    variants: Sequence[Variant],
    *,
    native: Callable,
    torch_op: Callable,
    pytorch3d_name: str | None,
    sizes: Sequence[int],
    quick_sizes: Sequence[int],
    size_label: str,
    description: str,
    torch_max_size: int | None = None,
    pytorch3d_module: str = "pytorch3d.ops",
    **meta: Any,
) -> None:
    """Registers one case per variant, ``name + suffix``, with :func:`op_contenders`.

    ``description`` is a format string with a ``{what}`` field, filled from each variant.
    """
    for suffix, setup, make_run, what in variants:
        register_case(
            name + suffix,
            sizes=sizes,
            quick_sizes=quick_sizes,
            setup=setup,
            size_label=size_label,
            description=description.format(what=what),
            contenders=op_contenders(
                native, torch_op, make_run, pytorch3d_name, torch_max_size, pytorch3d_module
            ),
            **meta,
        )
