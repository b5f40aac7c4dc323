"""The oracle: runs one input through its format's loader and says how the load ended.

An input passes when the load returns, or raises one of r3d's errors for bad input
(:data:`ACCEPTED`), without allocating more than ``MEMORY_FACTOR`` times the input's size plus
``MEMORY_CONSTANT`` bytes, and (checked by the caller, :mod:`fuzzing.runner`) within
``TIME_LIMIT`` seconds. Anything else is a finding: another exception (``crash``), or a
``memory`` blow-up.

Memory is held two ways while the loader runs, in a process of its own:

* the process's address space is capped (``RLIMIT_AS``) at its size before the call plus the
  budget and ``ADDRESS_SLACK``, so that an allocation far beyond the budget fails at once
  (numpy's and Python's MemoryError, torch's "can't allocate memory") instead of taking the
  machine's memory: a PLY
  header claiming 10**12 vertices whose loader allocates first fails here, whatever the
  machine's memory and overcommit settings are;
* the resident set's high-water mark is reset before the call (``/proc/self/clear_refs``, see
  :mod:`r3d.bench.memory`) and read after it, so memory the loader touched beyond the budget
  is a finding even where the address-space cap let it through.

An allocation failure caught by a loader and re-raised as an r3d error is still a ``memory``
finding: the exception's chain is searched for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from r3d.bench.memory import reset_hwm, status_kib
from r3d.errors import FileFormatError, InputError, MissingFileError

__all__ = ["ACCEPTED", "ADDRESS_SLACK", "MEMORY_CONSTANT", "MEMORY_FACTOR", "TIME_LIMIT", "Outcome",
           "limit_malloc_caching", "run_input"]

ACCEPTED = (InputError, FileFormatError, MissingFileError)
TIME_LIMIT = 2.0  # seconds
MEMORY_FACTOR = 64  # bytes of memory allowed per byte of input ...
MEMORY_CONSTANT = 512 << 20  # ... plus this (packing a texture raster of 4M texels, its
# copies and int64 indices may take 260 MiB, for a 344-byte OBJ: tests/data/fuzz/obj)
# Address space reserved without being used, beyond the budget, before the cap fails an
# allocation: threads that start during a load (torch's and OpenMP's pools) reserve their stacks
# and glibc malloc arenas (64 MiB each), which a cap of the budget alone counted as allocations
# depending on whether the worker had started them before. The resident set (the second check)
# holds the load to the budget itself.
ADDRESS_SLACK = 1 << 30
_ALLOCATION_FAILURES = ("can't allocate memory", "std::bad_alloc", "Cannot allocate memory",
                        "DefaultCPUAllocator")
_M_MMAP_THRESHOLD = -3  # mallopt parameter


@dataclass(frozen=True)
class Outcome:
    """How one load ended.

    Attributes:
        result: "ok" (loaded), "error" (an accepted r3d error), "crash", "hang" or "memory".
        detail: the exception (type and message) for errors and crashes, the memory figures
            for blow-ups.
        where: for crashes, the innermost r3d frame (file:line function), for grouping.
        seconds: how long the load took.
        peak_bytes: how far the resident set rose during the load.
    """

    result: str
    detail: str = ""
    where: str = ""
    seconds: float = 0.0
    peak_bytes: int = 0

    @property
    def is_finding(self) -> bool:
        return self.result in ("crash", "hang", "memory")


def limit_malloc_caching() -> None:
    """Asks glibc to serve allocations of 64 KiB or more with mmap, so that memory a load frees
    goes back at once and the next load's high-water mark starts low (no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)


def _allocation_failed(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception in its chain is a failed allocation."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or any(s in str(exc) for s in _ALLOCATION_FAILURES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _where(exc: BaseException) -> str:
    """The innermost frame of r3d (else the innermost frame) of ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}r3d{os.sep}" in f.filename] or frames
    if not ours:
        return ""
    f = ours[-1]
    name = f.filename.split(f"{os.sep}r3d{os.sep}", 1)[-1]
    return f"{name}:{f.lineno} {f.name}"


def _address_space() -> int:
    return status_kib("VmSize") * 1024


def run_input(load, path: Path, size: int) -> Outcome:
    """Runs ``load(path)`` under the memory budget of a ``size``-byte input (see the module
    docstring) and classifies how it ended; warnings are ignored."""
    budget = MEMORY_FACTOR * size + MEMORY_CONSTANT
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + budget + ADDRESS_SLACK
    measured = reset_hwm()
    base = status_kib("VmRSS")
    start = time.perf_counter()
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY
                                            else min(cap, hard), hard))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load(path)
        failure = None
    except Exception as exc:  # noqa: BLE001 - classifying every outcome is the point
        loaded, failure = None, exc
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    seconds = time.perf_counter() - start
    peak = max(0, status_kib("VmHWM") - base) * 1024 if measured else 0
    del loaded
    if failure is not None and _allocation_failed(failure):
        return Outcome("memory", f"allocation failed: {type(failure).__name__}: {failure}",
                       _where(failure), seconds, peak)
    if peak > budget:
        return Outcome("memory", f"the resident set rose {peak} bytes, over the budget of "
                                 f"{budget} for {size} bytes of input", "", seconds, peak)
    if failure is None:
        return Outcome("ok", "", "", seconds, peak)
    detail = f"{type(failure).__name__}: {failure}"[:2000]
    if isinstance(failure, ACCEPTED):
        return Outcome("error", detail, "", seconds, peak)
    return Outcome("crash", detail, _where(failure), seconds, peak)
