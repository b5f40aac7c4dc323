"""One process of the background load of ``r3d bench --load N`` (``python -m r3d.bench._load``).

It multiplies a 64 x 64 matrix by itself with torch (on torch's own threads, as another user's
job on a shared machine would) until its parent goes: when its stdin closes (the parent ended or
died) or its parent process id changes. It writes ``ready`` to stdout once it is loading.
"""

from __future__ import annotations

import os
import sys
import threading

import torch

CHECK_EVERY = 1000  # multiplications between two looks at the parent process id
READY = "ready"


def _exit_when_stdin_closes() -> None:
    """Blocks until stdin reaches its end (the parent closed it or died), then ends the process."""
    sys.stdin.buffer.read()
    os._exit(0)


def busy(parent: int) -> None:
    """Loads the CPU with (64, 64) matrix products until ``parent`` is no longer the parent."""
    x = torch.rand(64, 64)
    (x @ x).sum()
    print(READY, flush=True)
    while True:
        for _ in range(CHECK_EVERY):
            (x @ x).sum()
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    """Starts the stdin watcher, then loads the CPU."""
    parent = os.getppid()
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    busy(parent)


if __name__ == "__main__":
    main()
