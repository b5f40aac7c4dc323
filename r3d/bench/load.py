"""A synthetic background load for ``r3d bench --load N``: N processes that keep the CPU busy the
way other jobs on a shared machine do, each running torch matrix products on its own threads
(:mod:`r3d.bench._load`), started before the measurements and always stopped after them."""

from __future__ import annotations

import select
import subprocess
import sys
import tempfile
import time
from typing import IO

from r3d.bench._load import READY
from r3d.errors import InputError, R3DError

MAX_PROCESSES = 64  # each one is a torch process of ~200 MB; more would swamp the machine


def check_process_count(processes: object) -> int:
    """``processes`` as a count of load processes; InputError unless it is an int in
    [0, MAX_PROCESSES]."""
    if isinstance(processes, bool) or not isinstance(processes, int) or \
            not 0 <= processes <= MAX_PROCESSES:
        raise InputError(f"load: expected a process count in [0, {MAX_PROCESSES}], got "
                         f"{processes!r}")
    return processes


class BackgroundLoad:
    """``processes`` load processes, running between :meth:`start` and :meth:`stop` (or inside a
    ``with`` block, which stops them on any exit: normal, error or Ctrl-C).

    Each process is in a session of its own (Ctrl-C in the terminal reaches r3d only) and ends by
    itself when r3d dies: it watches its stdin, a pipe from r3d, and its parent process id.

    Args:
        processes: how many load processes (0: none, start and stop do nothing).
        ready_timeout: seconds to wait for every process to be loading the CPU.
        stop_timeout: seconds to wait for the processes to end before they are killed.
    """

    def __init__(
        self, processes: int, ready_timeout: float = 120.0, stop_timeout: float = 5.0
    ) -> None:
        self.processes = check_process_count(processes)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self._procs: list[tuple[subprocess.Popen, IO[bytes]]] = []  # (process, its stderr)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running load processes."""
        return [proc.pid for proc, _ in self._procs]

    def _spawn(self) -> None:
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [sys.executable, "-m", "r3d.bench._load"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        self._procs.append((proc, err))

    def _wait_ready(self, proc: subprocess.Popen, err: IO[bytes], deadline: float) -> None:
        """Waits for ``proc``'s ready line; R3DError (with its last error line) if none comes."""
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready and proc.stdout.readline().decode(errors="replace").strip() == READY:
            return
        proc.kill()
        proc.wait()
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"no ready line within {self.ready_timeout:g} s"
        raise R3DError(f"a background load process did not start: {why}")

    def start(self) -> None:
        """Starts the processes and returns once every one is loading the CPU; on failure none
        is left running."""
        try:
            for _ in range(self.processes):
                self._spawn()
            deadline = time.monotonic() + self.ready_timeout
            for proc, err in self._procs:
                self._wait_ready(proc, err, deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Ends every process: closes its stdin and terminates it, then kills whatever is left
        after ``stop_timeout`` seconds; returns once all have exited."""
        procs, self._procs = self._procs, []
        for proc, _ in procs:
            proc.stdin.close()
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for proc, err in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            err.close()

    def __enter__(self) -> BackgroundLoad:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
