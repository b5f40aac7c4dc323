"""The native module ``r3d._C`` and the machinery every op family's bridge shares.

The bridges (one module per op family in this package) are the only code that hands raw pointers
to ``r3d._C``. Each checks every tensor it is given (dtype, device, contiguity, shape and, for
index tensors, the range of the values) before it launches a kernel, so no input can make a
kernel read or write out of bounds. Outputs are allocated in the bridges, never in C++. Nothing
else in r3d calls ``data_ptr()``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, Sequence

import torch

from r3d.errors import InputError, NativeError
from r3d.value_checks import checked_range


def _load_native(path: str):
    """The native module built at ``path`` (a ``_C*.so``, e.g. tools/sanitize's sanitized
    build), registered as ``r3d._C``: what ``R3D_NATIVE_MODULE=path`` loads instead of the
    installed module."""
    spec = importlib.util.spec_from_file_location("r3d._C", path)
    if spec is None or not os.path.isfile(path):
        raise ImportError(f"R3D_NATIVE_MODULE={path} is not a native module file")
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)
    sys.modules["r3d._C"] = native
    sys.modules["r3d"]._C = native
    return native


try:
    if os.environ.get("R3D_NATIVE_MODULE"):
        _C = _load_native(os.environ["R3D_NATIVE_MODULE"])
    else:
        from r3d import _C
except ImportError as exc:  # pragma: no cover - only when the build is broken
    _C = None
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

log = logging.getLogger("r3d.ops")

FLOAT_DTYPES = (torch.float32, torch.float64)
HALF_DTYPES = (torch.float16, torch.bfloat16)


DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


def has_native(device: torch.device, dtype: torch.dtype | None = None) -> bool:
    """Whether a native launcher runs tensors on ``device`` (and of ``dtype``, if given:
    float32, float64, or float16 / bfloat16 computed in float32)."""
    return native_missing(torch.device(device), dtype or torch.float32) is None


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


def leading_size(op: str, name: str, t: torch.Tensor) -> int:
    """The size of the first dimension of ``t`` (the batch size N of a call whose other
    arguments are sized from it); InputError when ``t`` is not a tensor of one dimension at
    least. The bridge checks ``t`` in full."""
    if not isinstance(t, torch.Tensor) or t.dim() == 0:
        got = f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise InputError(f"{op}: {name} must be a tensor whose first dimension is the batch, "
                         f"got {got}")
    return t.shape[0]


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
) -> tuple[int, int, int, int, torch.Tensor | None, torch.Tensor | None]:
    """Checks two padded batches of clouds, p1 (N, P1, D) float32/float64 and p2 (N, P2, D) of
    its dtype and device, and (when given) their (N,) int64 lengths in [0, P1] / [0, P2];
    returns (N, P1, P2, D, lengths1, lengths2), the lengths as :func:`checked_range` returns
    them."""
    check_float(op, "p1", p1, (None, None, None))
    N, P1, D = p1.shape
    check(op, "p2", p2, p1.dtype, (N, None, D), p1.device)
    P2 = p2.shape[1]
    checked = []
    for name, lengths, P in (("lengths1", lengths1, P1), ("lengths2", lengths2, P2)):
        if lengths is not None:
            check(op, name, lengths, torch.int64, (N,), p1.device)
            lengths = checked_range(op, name, lengths, 0, P + 1)
        checked.append(lengths)
    return N, P1, P2, D, checked[0], checked[1]


def usable_threads(requested: int) -> int:
    """Threads a CPU launcher's team takes now for ``requested`` wanted: no more than the cores
    that other processes leave idle, sampled at most every 10 ms (csrc/common/machine_load.h;
    ``requested`` itself with ``R3D_LOAD_AWARE_THREADS=0`` or without the native module)."""
    return requested if _C is None or requested <= 1 else _C.usable_threads(requested)


@contextlib.contextmanager
def load_aware_threads() -> Iterator[None]:
    """Within this block torch's own CPU ops take no more threads than :func:`usable_threads`
    allows, as r3d's launchers do: on a machine whose cores are busy with other processes, a
    torch op split over more threads than there are idle cores is several times slower than on
    one thread. torch's thread count is lowered only while the machine is that busy and is set
    back on leaving the block (a ``torch.set_num_threads`` within the block is undone too).
    Nested blocks, and blocks in several Python threads at once, leave the count as it was."""
    if torch.compiler.is_compiling():  # (a traced graph has no thread count to read)
        yield
        return
    requested = torch.get_num_threads()
    usable = usable_threads(requested)
    if usable >= requested:
        yield
        return
    torch.set_num_threads(usable)
    try:
        yield
    finally:
        torch.set_num_threads(requested)


def launch(name: str, device: torch.device, *args) -> None:
    """Calls ``<name>_cpu`` with the thread count or ``<name>_cuda`` with the current stream of
    ``device``, leaving the caller's current CUDA device as it was."""
    C = module()
    if device.type == "cpu":
        getattr(C, name + "_cpu")(*args, torch.get_num_threads())
    elif device.type == "cuda" and C.with_cuda:
        check_cuda_versions()
        index = device.index if device.index is not None else torch.cuda.current_device()
        previous = C.cuda_get_device()
        if previous != index:
            C.cuda_set_device(index)
        try:
            getattr(C, name + "_cuda")(*args, torch.cuda.current_stream(device).cuda_stream)
        finally:
            if previous != index:
                C.cuda_set_device(previous)
    else:
        raise NativeError(f"{name}: no native launcher for device {device}")


def _major(version: str | None) -> int | None:
    """The major number of a CUDA version string such as "13.0.88" (None for None)."""
    return None if not version else int(version.split(".")[0])


@functools.cache
def check_cuda_versions() -> None:
    """Before the first CUDA launch: NativeError when the driver is older than the CUDA major
    version r3d's kernels were built with (they could not load), and a warning when torch uses
    another CUDA major version than r3d (both runtimes then need the driver's support)."""
    built = module().build_info()["cuda_version"]
    driver = module().cuda_driver_version()  # e.g. 12040 for 12.4
    if _major(built) is not None and driver // 1000 < _major(built):
        raise NativeError(
            f"r3d's CUDA kernels were built with CUDA {built}, but the NVIDIA driver supports "
            f"CUDA {driver // 1000}.{driver % 1000 // 10} at most: update the driver, or rebuild "
            f"r3d with an nvcc of CUDA {driver // 1000}.x (CUDACXX=/path/to/nvcc pip install .)"
        )
    if _major(torch.version.cuda) not in (None, _major(built)):
        log.warning(
            "r3d's CUDA kernels were built with CUDA %s but torch with CUDA %s: rebuild r3d "
            "with a matching nvcc if kernels fail to load", built, torch.version.cuda,
        )


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


# torch_only(): the depth of nested blocks (a plain global, which torch.compile traces and
# guards on, unlike a ContextVar); R3D_NATIVE=0: every op runs its pure-PyTorch twin
_torch_only = {"depth": 0}
_NATIVE_OFF = os.environ.get("R3D_NATIVE", "1") in ("0", "false", "False", "off")
_warned: set[tuple[str, str]] = set()


def native_missing(device: torch.device, dtype: torch.dtype) -> str | None:
    """Why no native kernel runs tensors of ``device`` and floating ``dtype`` (None when one
    does; float16 / bfloat16 run in float32)."""
    if _C is None:
        return f"r3d's native module failed to import ({_IMPORT_ERROR})"
    if dtype not in FLOAT_DTYPES + HALF_DTYPES:
        return f"no native kernel for {dtype} tensors"
    if device.type == "cuda" and not _C.with_cuda:
        return ("r3d was built without its CUDA kernels (rebuild on a machine with nvcc: "
                "R3D_CUDA=ON pip install .)")
    if device.type not in ("cpu", "cuda"):
        return f"no native kernels for {device.type} tensors"
    return None


def use_native(t: torch.Tensor, op: str) -> bool:
    """Whether ``op`` runs its native kernel on ``t`` (its first floating-point input): False
    within :func:`torch_only` or with ``R3D_NATIVE=0`` (the explicit choice of the pure-PyTorch
    twins), and when no kernel fits ``t``, which is logged once per op and reason as a warning
    on the ``r3d.ops`` logger before the twin runs. Integer inputs go to the twin silently (it
    raises the error for them)."""
    if _torch_only["depth"] or _NATIVE_OFF or not t.is_floating_point():
        return False
    reason = native_missing(t.device, t.dtype)
    if reason is None:
        return True
    if (op, reason) not in _warned and not torch.compiler.is_compiling():
        _warned.add((op, reason))
        log.warning("%s: running the pure-PyTorch implementation: %s", op, reason)
    return False


@contextlib.contextmanager
def torch_only() -> Iterator[None]:
    """Within this block every op runs its pure-PyTorch implementation (for comparisons such
    as ``r3d bench``'s whole-pipeline cases)."""
    _torch_only["depth"] += 1
    try:
        yield
    finally:
        _torch_only["depth"] -= 1
