"""Checks on tensor values (ranges, finiteness) that never stall a CUDA stream unless asked to.

Reading a value computed on a GPU (``int(t.max())``, ``bool(ok)``) makes the host wait for the
device: it serialises the stream, breaks CUDA-graph capture and, in ``torch.compile``, splits the
graph. So every check on tensor values goes through :func:`expect`, which decides how to check:

- CPU tensors, or checks switched on (``R3D_CHECKS=1`` in the environment or
  :func:`set_checks`): at once, raising :class:`~r3d.errors.InputError`.
- While ``torch.compile`` or ``torch.export`` traces: an assertion node in the graph
  (``torch._assert_async``), which raises when the compiled code runs on the CPU; on CUDA only
  when checks are on (it is a device assert there).
- CUDA tensors with checks off, and any tensor while a CUDA graph is captured: the verdict
  stays on the device, ORed into a per-device flag (captured graphs replay it), and
  :func:`check_errors` (called by r3d where it synchronises anyway, and by the user at will)
  raises for the failures seen since the last call. Meanwhile the values that would make a kernel
  read out of bounds are clamped (:func:`checked_range`), so a bad input gives a wrong answer
  and a deferred error, never a memory fault.
"""

from __future__ import annotations

import math
import os

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch._subclasses.functional_tensor import FunctionalTensor

from r3d.errors import InputError

# the tensor types that stand for values while a graph is traced
_PLACEHOLDERS = (FakeTensor, FunctionalTensor)
_state = {
    "checks": os.environ.get("R3D_CHECKS", "0") not in ("", "0", "false", "False"),
    # device types whose values are read at once whatever the setting (reading costs no stall)
    "immediate": frozenset({"cpu", "meta"}),
}
# message -> its slot in the per-device flags; flags: device -> (slots,) bool tensor
_SLOTS = 256
_messages: dict[str, int] = {}
_flags: dict[torch.device, torch.Tensor] = {}


def set_checks(enabled: bool) -> None:
    """Switches immediate value checks on CUDA on (every check synchronises) or off (deferred
    to :func:`check_errors`). CPU tensors are always checked at once."""
    _state["checks"] = bool(enabled)


def checks_enabled() -> bool:
    """Whether value checks on CUDA tensors run at once (``R3D_CHECKS=1`` or set_checks(True))."""
    return _state["checks"]


def tracing(t: torch.Tensor) -> bool:
    """Whether ``t`` is being traced (torch.compile, torch.export, make_fx): its values do not
    exist yet."""
    return torch.compiler.is_compiling() or isinstance(t, _PLACEHOLDERS)


def host_reads_allowed(t: torch.Tensor) -> bool:
    """Whether the values of ``t`` may be read on the host: not while it is traced or the
    current CUDA stream is captured into a graph."""
    if tracing(t):
        return False
    return not (torch.cuda.is_initialized() and torch.cuda.is_current_stream_capturing())


def checks_now(t: torch.Tensor) -> bool:
    """Whether a value check on ``t`` reads the value on the host now."""
    return host_reads_allowed(t) and (_state["checks"] or t.device.type in _state["immediate"])


def expect(op: str, ok: torch.Tensor, message: str) -> None:
    """Raises InputError(f"{op}: {message}") when the 0-dim bool tensor ``ok`` is False, at once
    or deferred as the module docstring says."""
    text = f"{op}: {message}"
    if tracing(ok):
        if ok.device.type in _state["immediate"] or _state["checks"]:
            torch._assert_async(ok, text)
        return
    if checks_now(ok):
        if not bool(ok):
            raise InputError(text)
        return
    _defer(text, ok)


def _defer(text: str, ok: torch.Tensor) -> None:
    """ORs ``not ok`` into the flag slot of ``text`` on ok's device, without a sync."""
    slot = _messages.setdefault(text, len(_messages) % _SLOTS)
    flags = _flags.get(ok.device)
    if flags is None:
        flags = _flags[ok.device] = torch.zeros(_SLOTS, dtype=torch.bool, device=ok.device)
    flags[slot : slot + 1].logical_or_(~ok.reshape(1))


def check_errors() -> None:
    """Raises InputError listing the deferred checks that failed since the last call (and
    clears them); synchronises with every device that has deferred checks."""
    failed = []
    for flags in _flags.values():
        bad = flags.nonzero().flatten().tolist()
        if bad:
            flags.zero_()
            failed += [text for text, slot in _messages.items() if slot in bad]
    if failed:
        raise InputError("; ".join(failed))


# Index tensors of up to this many values on the CPU are range-checked as a Python list (a
# batch's lengths: no reduction to launch, microseconds less per call).
_LIST_CHECK_MAX = 64


def checked_range(op: str, name: str, t: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """The index tensor ``t`` after checking low <= t < high everywhere: ``t`` itself, or, when
    the check is deferred, a copy clamped into the range so that no kernel reads out of bounds."""
    if t.numel() == 0:
        return t
    if checks_now(t) and t.device.type == "cpu" and t.numel() <= _LIST_CHECK_MAX:
        values = t.reshape(-1).tolist()
        lo, hi = min(values), max(values)
        if lo < low or hi >= high:
            raise InputError(
                f"{op}: {name} has values in [{lo}, {hi}], expected them in [{low}, {high - 1}]"
            )
        return t
    if checks_now(t):
        # read the values in memory order: a permuted view of a contiguous tensor becomes
        # contiguous (several times faster to reduce), and min and max do not depend on it
        in_order = t.permute(sorted(range(t.dim()), key=lambda d: -t.stride(d))) \
            if t.dim() > 1 else t
        lo, hi = (int(v) for v in torch.aminmax(in_order))
        if lo < low or hi >= high:
            raise InputError(
                f"{op}: {name} has values in [{lo}, {hi}], expected them in [{low}, {high - 1}]"
            )
        return t
    lo, hi = torch.aminmax(t)
    expect(op, (lo >= low) & (hi < high), f"{name} has values outside [{low}, {high - 1}]")
    return t if tracing(t) else t.clamp(low, high - 1)


def all_finite(t: torch.Tensor) -> torch.Tensor:
    """0-dim bool tensor: whether every value of the float tensor ``t`` is finite (True when it
    is empty). The extremes are NaN when any value is, infinite when any is: one pass over
    ``t``, no mask of its shape."""
    if not t.numel():
        return t.new_ones((), dtype=torch.bool)
    return torch.isfinite(torch.stack(torch.aminmax(t))).all()


def finite_now(t: torch.Tensor) -> bool:
    """Whether every value of the float tensor ``t`` is finite (True when it is empty), read on
    the host now: as :func:`all_finite`, with one op instead of five (a few microseconds less
    per check, which the checks of small native calls feel)."""
    if not t.numel():
        return True
    lo, hi = torch.aminmax(t)
    return math.isfinite(lo.item()) and math.isfinite(hi.item())


def expect_finite(op: str, name: str, t: torch.Tensor) -> None:
    """InputError (at once or deferred) unless every value of the float tensor ``t`` is finite."""
    if checks_now(t):
        if not finite_now(t):
            raise InputError(f"{op}: {name} contains NaN or infinite values")
        return
    expect(op, all_finite(t), f"{name} contains NaN or infinite values")


def checked_segments(
    op: str, names: tuple[str, str], first: torch.Tensor, count: torch.Tensor, total: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Segments [first[n], first[n] + count[n]) of ``total`` packed rows, after checking that
    each lies within [0, total]; clamped into it when the check is deferred (as
    :func:`checked_range`).

    Args:
        names: the names of first and count, for error messages.
        first, count: (N,) int64.
    Returns:
        first, count (N,) int64.
    """
    first = checked_range(op, names[0], first, 0, total + 1)
    count = checked_range(op, names[1], count, 0, total + 1)
    checked_range(op, f"{names[0]} + {names[1]}", first + count, 0, total + 1)
    if count.numel() and not checks_now(count) and not tracing(count):
        count = torch.minimum(count, total - first)
    return first, count


def checked_csr_ptr(op: str, name: str, ptr: torch.Tensor, num_entries: int) -> torch.Tensor:
    """A CSR row pointer after checking it: (R + 1,) int64 starting at 0, non-decreasing and
    ending at ``num_entries``; when the check is deferred, a copy made valid (clamped, running
    maximum, ends pinned) so that no kernel reads out of bounds."""
    ends = torch.stack([ptr[0], ptr[-1]])
    expect(op, (ends == ends.new_tensor([0, num_entries])).all(),
           f"{name} must start at 0 and end at {num_entries}")
    expect(op, (ptr[1:] >= ptr[:-1]).all(), f"{name} must be non-decreasing")
    if checks_now(ptr) or tracing(ptr):
        return ptr
    safe = torch.cummax(ptr.clamp(0, num_entries), 0).values
    safe[0], safe[-1] = 0, num_entries
    return safe
