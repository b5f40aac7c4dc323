"""Standard contenders of an op's benchmark: r3d's native kernel, its pure-PyTorch twin and the
same op in PyTorch3D when that is importable, looked up where PyTorch3D defines it."""

from __future__ import annotations

import functools
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
    return core.native_missing(device, torch.float32)


@functools.cache
def peer_op(path: str) -> tuple[Callable | None, str | None]:
    """Looks up a peer library's function by its dotted ``path`` ("package.module.function").

    Returns ``(function, None)``, or ``(None, why not)``: "<package> is not installed" when the
    package itself is missing, "not found: <path>" when the package imports but the module or
    the name is not there, "<module> cannot be imported: ..." when importing fails otherwise.
    """
    module, _, name = path.rpartition(".")
    package = module.partition(".")[0]
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == package:
            return None, f"{package} is not installed"
        if exc.name is not None and (module + ".").startswith(exc.name + "."):
            return None, f"not found: {path} (no module {exc.name})"
        return None, f"{module} cannot be imported: {exc}"
    except Exception as exc:  # noqa: BLE001 - a broken install of a peer is "not available"
        return None, f"{module} cannot be imported: {type(exc).__name__}: {exc}"
    op = getattr(found, name, None)
    if not callable(op):
        return None, f"not found: {path}"
    return op, None


def pytorch3d_contender(
    path: str, make_run: Callable[[Callable], Callable], cpu_max_size: int | None = None
) -> Contender:
    """A contender running PyTorch3D's function at the dotted ``path`` (looked up when first
    asked for), not run above ``cpu_max_size`` on the CPU when given (where PyTorch3D's CPU
    path is brute force and would take minutes)."""

    bound: list[Callable] = []

    def run(x):
        if not bound:
            bound.append(make_run(peer_op(path)[0]))
        return bound[0](x)

    def available(device: torch.device) -> str | None:
        return peer_op(path)[1]

    return Contender(
        "pytorch3d", run, kind="peer", available=available, cpu_max_size=cpu_max_size
    )


def op_contenders(
    native: Callable,
    torch_op: Callable,
    make_run: Callable[[Callable], Callable],
    pytorch3d: str | None = None,
    torch_max_size: int | None = None,
    pytorch3d_cpu_max_size: int | None = None,
) -> list[Contender]:
    """r3d's op (native where it can be), its pure-PyTorch twin (not run above
    ``torch_max_size`` when given) and, when given, PyTorch3D's function at the dotted path
    ``pytorch3d`` (not run above ``pytorch3d_cpu_max_size`` on the CPU when given)."""
    contenders = [
        Contender("r3d", make_run(native), "native", native_available),
        Contender("torch", make_run(torch_op), "torch", max_size=torch_max_size),
    ]
    if pytorch3d is not None:
        contenders.append(pytorch3d_contender(pytorch3d, make_run, pytorch3d_cpu_max_size))
    return contenders


def register_op_cases(
    name: str,
    variants: Sequence[Variant],
    *,
    native: Callable,
    torch_op: Callable,
    pytorch3d: str | None,
    sizes: Sequence[int],
    quick_sizes: Sequence[int],
    size_label: str,
    description: str,
    torch_max_size: int | None = None,
    pytorch3d_cpu_max_size: int | None = None,
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
                native, torch_op, make_run, pytorch3d, torch_max_size, pytorch3d_cpu_max_size
            ),
            **meta,
        )
