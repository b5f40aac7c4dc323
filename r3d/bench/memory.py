"""Peak memory of one call of a contender.

On the CPU, tracemalloc sees only Python's allocations, not those of native kernels or of
torch's allocator, so each (case, size, contender) runs in a child process of its own: the child
builds the inputs, calls the contender once to warm it up, resets the kernel's high-water mark
of its resident set (``/proc/self/clear_refs``), reads its resident set size as the baseline,
calls the contender again and reports how far the high-water mark (``VmHWM``) rose above the
baseline. glibc is asked (``MALLOC_MMAP_THRESHOLD_``) to serve every allocation of 64 KiB or
more with mmap, so freed tensors go back to the kernel at once and do not hide later
allocations. Children are forked from a helper process (:mod:`r3d.bench._probe`) that has already
imported torch, r3d and the case modules, so each costs little to start. The kernel keeps its
resident-set counters per CPU, so figures below a few hundred KiB (more on many-core machines)
are at the resolution of its accounting.

On CUDA the figure is ``torch.cuda.max_memory_allocated`` above the memory allocated before
the call, measured in the benchmarking process itself.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import torch

from r3d.bench import registry

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_MMAP_THRESHOLD = 64 * 1024

METHOD_RSS = "rss-hwm"  # VmHWM above VmRSS after a reset of the high-water mark
METHOD_MAXRSS = "maxrss-growth"  # ru_maxrss growth without a reset: a lower bound
METHOD_CUDA = "cuda-max-allocated"


@dataclass(frozen=True)
class MemoryFigure:
    """Peak memory of one call: extra bytes above the baseline, or why it was not measured."""

    peak_bytes: int | None
    method: str | None
    error: str | None = None


def status_kib(field: str) -> int:
    """A ``VmXXX`` line of /proc/self/status, in KiB."""
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{_STATUS} has no {field} line")


def reset_hwm() -> bool:
    """Resets the resident-set high-water mark of this process; False where unsupported."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _can_reset_hwm() -> bool:
    return os.path.exists(_STATUS) and os.access(_CLEAR_REFS, os.W_OK)


def _maxrss_bytes() -> int:
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def peak_of_call(run, arg) -> tuple[int, str]:
    """Peak resident memory (bytes above the baseline) of ``run(arg)`` in this process.

    ``run(arg)`` should already have been called once (warm-up). Returns (bytes, method).
    """
    gc.collect()
    if _can_reset_hwm() and reset_hwm():
        base = status_kib("VmRSS")
        out = run(arg)
        peak = status_kib("VmHWM")
        del out
        return max(0, peak - base) * 1024, METHOD_RSS
    base = _maxrss_bytes()
    out = run(arg)
    peak = _maxrss_bytes()
    del out
    return max(0, peak - base), METHOD_MAXRSS


def measure_here(module: str, case_name: str, size: int, contender: str) -> tuple[int, str]:
    """Builds the inputs of ``case_name`` at ``size`` in this process, warms ``contender`` up
    and returns (peak bytes of one call, method). Meant for a fresh child process."""
    importlib.import_module(module)
    case = registry.get_case(case_name)
    c = case.contender(contender)
    arg = c.prepared(case.setup(size, torch.device("cpu")))
    if _can_reset_hwm():
        c.run(arg)  # warm-up: one-time allocations are not the op's peak
    return peak_of_call(c.run, arg)


class CpuProbe:
    """Measures CPU peak memory, each (case, size, contender) in a child process of its own.

    The children are forked from a helper process (``python -m r3d.bench._probe``) started
    once, which has imported torch, r3d and the case modules, so a measurement costs only the
    fork and the case's setup. Use as a context manager, or call :meth:`close`.

    Args:
        timeout: seconds one measurement may take before its processes are killed.
    """

    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self._proc: subprocess.Popen | None = None
        self._stderr = None

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ)
        env["MALLOC_MMAP_THRESHOLD_"] = str(_MMAP_THRESHOLD)  # freed tensors go back at once
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "r3d.bench._probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; close() ends the helper
        )
        return self._proc

    def _helper_error(self, what: str) -> str:
        tail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            tail = f": {lines[-1]}" if lines else ""
        self.close()
        return what + tail

    def measure(self, case: registry.Case, size: int, contender: str) -> MemoryFigure:
        """Peak memory of one call of ``contender`` of ``case`` at ``size`` on the CPU.

        The case must be declared at import of an importable module: the child imports the
        module of ``case.setup`` to find it.
        """
        if not hasattr(os, "fork"):
            return MemoryFigure(None, None, "not supported on this platform (no fork)")
        proc = self._proc if self._proc is not None and self._proc.poll() is None \
            else self._start()
        request = {
            "module": case.setup.__module__,
            "case": case.name,
            "size": int(size),
            "contender": contender,
            "threads": torch.get_num_threads(),
        }
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
        except OSError:
            return MemoryFigure(None, None, self._helper_error("the memory helper exited"))
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
        if not ready:
            self.close()
            return MemoryFigure(None, None, f"no answer within {self.timeout:.0f} s")
        line = proc.stdout.readline()
        if not line:
            return MemoryFigure(None, None, self._helper_error("the memory helper exited"))
        answer = json.loads(line)
        if answer.get("error"):
            return MemoryFigure(None, None, answer["error"])
        return MemoryFigure(int(answer["peak_bytes"]), answer["method"])

    def close(self) -> None:
        """Ends the helper process and any measurement it is running."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (OSError, AttributeError):
                    proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> CpuProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cuda_peak(run, arg, device: torch.device) -> MemoryFigure:
    """Peak CUDA memory of ``run(arg)`` above what was allocated before it (already warm)."""
    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    out = run(arg)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del out
    return MemoryFigure(max(0, int(peak)), METHOD_CUDA)
