"""The native module ``r3d._C`` and the machinery every op family's bridge shares.

The bridges (one module per op family in this package) are the only code that hands raw pointers
to ``r3d._C``. Each checks every tensor it is given (dtype, device, contiguity, shape and, for
index tensors, the range of the values) before it launches a kernel, so no input can make a
kernel read or write out of bounds. Outputs are allocated in the bridges, never in C++. Nothing
else in r3d calls ``data_ptr()``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch

from r3d._checks import check_range
from r3d.errors import InputError, NativeError

try:
    from r3d import _C
except ImportError as exc:  # pragma: no cover - only when the build is broken
    _C = None
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

FLOAT_DTYPES = (torch.float32, torch.float64)


DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


def has_native(device: torch.device, dtype: torch.dtype | None = None) -> bool:
    """Whether a native launcher exists for tensors on ``device`` (and of ``dtype``, if given)."""
    if _C is None or (dtype is not None and dtype not in FLOAT_DTYPES):
        return False
    if device.type == "cpu":
        return True
    return device.type == "cuda" and bool(_C.with_cuda)


def built_with_cuda() -> bool:
    """Whether the native module was compiled with its CUDA launchers."""
    return _C is not None and bool(_C.with_cuda)


def module():
    """``r3d._C``; NativeError saying why when it failed to import."""
    if _C is None:
        raise NativeError(f"r3d's native module failed to import: {_IMPORT_ERROR}")
    return _C


def check_device(op: str, name: str, t: torch.Tensor, device: torch.device) -> None:
    """InputError unless ``t`` is on ``device`` (the device of the call's first input)."""
    if t.device != device:
        raise InputError(f"{op}: {name} must be on {device} like the other inputs, got {t.device}")


def check(
    op: str,
    name: str,
    t: torch.Tensor,
    dtype: torch.dtype,
    shape: Sequence[int | None],
    device: torch.device,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> None:
    """Checks type, dtype, device, contiguity (in ``memory_format``) and shape (None in ``shape``
    matches any size)."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype != dtype:
        raise InputError(f"{op}: {name} must have dtype {dtype}, got {t.dtype}")
    check_device(op, name, t, device)
    if t.dim() != len(shape) or any(s not in (None, n) for s, n in zip(shape, t.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{op}: {name} must have shape {want}, got {tuple(t.shape)}")
    if not t.is_contiguous(memory_format=memory_format):
        layout = "" if memory_format == torch.contiguous_format else f" in {memory_format}"
        raise InputError(f"{op}: {name} must be contiguous{layout} (call .contiguous() first)")


def check_float(op: str, name: str, t: torch.Tensor, shape) -> None:
    """Like check for the first float32/float64 input of a call, whose device and dtype the
    other inputs must share; also checks that a native launcher exists for that device."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in FLOAT_DTYPES:
        raise InputError(f"{op}: {name} must be float32 or float64, got {t.dtype}")
    if not has_native(t.device):
        raise NativeError(f"{op}: no native kernel for device {t.device}")
    check(op, name, t, t.dtype, shape, t.device)


def check_cloud_pair(
    op: str,
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
) -> tuple[int, int, int, int]:
    """Checks two padded batches of clouds, p1 (N, P1, D) float32/float64 and p2 (N, P2, D) of
    its dtype and device, and (when given) their (N,) int64 lengths in [0, P1] / [0, P2];
    returns (N, P1, P2, D)."""
    check_float(op, "p1", p1, (None, None, None))
    N, P1, D = p1.shape
    check(op, "p2", p2, p1.dtype, (N, None, D), p1.device)
    P2 = p2.shape[1]
    for name, lengths, P in (("lengths1", lengths1, P1), ("lengths2", lengths2, P2)):
        if lengths is not None:
            check(op, name, lengths, torch.int64, (N,), p1.device)
            check_range(op, name, lengths, 0, P + 1)
    return N, P1, P2, D


def launch(name: str, device: torch.device, *args) -> None:
    """Calls ``<name>_cpu`` with the thread count or ``<name>_cuda`` with the current stream."""
    C = module()
    if device.type == "cpu":
        getattr(C, name + "_cpu")(*args, torch.get_num_threads())
    elif device.type == "cuda" and C.with_cuda:
        C.cuda_set_device(device.index if device.index is not None else 0)
        getattr(C, name + "_cuda")(*args, torch.cuda.current_stream(device).cuda_stream)
    else:
        raise NativeError(f"{name}: no native launcher for device {device}")


def emulated(op: str, name: str, device: torch.device, emulate_cuda: bool) -> str:
    """The launcher to call: ``name``, or with ``emulate_cuda`` its host emulation of the CUDA
    launcher's schedule (``<name>_emulated``, CPU tensors only; for tests)."""
    if not emulate_cuda:
        return name
    if device.type != "cpu":
        raise InputError(f"{op}: emulate_cuda runs on CPU tensors, got {device}")
    return name + "_emulated"


def addr(t: torch.Tensor) -> int:
    """The address of ``t``'s data, as the launchers take it."""
    return t.data_ptr()


def cuda_device_count() -> int:
    """CUDA devices usable by r3d's own runtime (0 when built without CUDA or none present)."""
    return module().cuda_device_count() if built_with_cuda() else 0


_TORCH_ONLY = contextvars.ContextVar("r3d_torch_only", default=False)


def use_native(t: torch.Tensor) -> bool:
    """True when a native launcher exists for ``t``'s device and dtype and
    :func:`torch_only` is not in effect.

    The pure-PyTorch implementation is used otherwise (other devices such as MPS, other dtypes).
    """
    return not _TORCH_ONLY.get() and has_native(t.device, t.dtype)


@contextlib.contextmanager
def torch_only() -> Iterator[None]:
    """Within this block every op runs its pure-PyTorch implementation (for comparisons such
    as ``r3d bench``'s whole-pipeline cases)."""
    token = _TORCH_ONLY.set(True)
    try:
        yield
    finally:
        _TORCH_ONLY.reset(token)
