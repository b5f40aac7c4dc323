"""r3d's native ops as PyTorch operators (``torch.ops.r3d.*``, registered with torch.library).

Each op wraps a bridge function (the only code that launches kernels) with a schema, a fake
implementation giving its output shapes (so ``torch.compile`` and ``torch.export`` trace it
without running it) and, for differentiable ops, an autograd formula whose backward is itself a
registered op. The kernels stay free of libtorch: the registration is Python.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch._library.custom_ops import CustomOpDef

from r3d._native.core import HALF_DTYPES, load_aware_threads

NAMESPACE = "r3d"

# name -> op, in registration order (tests run opcheck on every one; r3d doctor lists them)
OPS: dict[str, CustomOpDef] = {}


def native_op(
    name: str, fake: Callable, device_types: str | None = None
) -> Callable[[Callable], CustomOpDef]:
    """Decorator registering the annotated function as the op ``r3d::<name>`` (no input is
    mutated) with ``fake`` as its fake implementation, for every device (the bridge refuses
    those without a launcher) or for ``device_types`` only. The function runs within
    :func:`~r3d._native.core.load_aware_threads` (its torch ops take no more threads than the
    machine's idle cores)."""

    def register(fn: Callable) -> CustomOpDef:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with load_aware_threads():
                return fn(*args, **kwargs)

        op = torch.library.custom_op(f"{NAMESPACE}::{name}", run, mutates_args=(),
                                     device_types=device_types)
        op.register_fake(fake)
        OPS[name] = op
        return op

    return register


def dynamic_size() -> torch.SymInt:
    """A size known only when the op runs (for the fake implementation of an op whose output
    size depends on its input values)."""
    return torch.library.get_ctx().new_dynamic_size()


def in_float32(op: Callable, *args):
    """``op(*args)`` with float16 / bfloat16 tensor arguments computed in float32 (the kernels
    are float32 / float64) and the floating-point outputs returned in that half dtype."""
    half = next((a.dtype for a in args if isinstance(a, torch.Tensor) and a.dtype in HALF_DTYPES),
                None)
    if half is None:
        return op(*args)
    out = op(*(a.float() if isinstance(a, torch.Tensor) and a.dtype in HALF_DTYPES else a
               for a in args))

    def back(t: torch.Tensor) -> torch.Tensor:
        return t.to(half) if t.is_floating_point() else t

    return tuple(back(t) for t in out) if isinstance(out, tuple) else back(out)
