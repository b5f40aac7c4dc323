"""The memory helper process of :class:`r3d.bench.memory.CpuProbe` (``python -m r3d.bench._probe``).

It imports torch, r3d and the benchmark cases once, then for each request (one JSON line on
stdin) forks a child that measures one contender's peak memory (see
:func:`r3d.bench.memory.measure_here`) and answers with one JSON line on stdout:
``{"peak_bytes": int, "method": str}`` or ``{"error": str}``.
"""

from __future__ import annotations

import gc
import json
import os
import sys


def _child(request: dict, out_fd: int) -> None:
    """Runs in the forked child: measures, writes the answer to ``out_fd``, never returns."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # stray prints must not reach the protocol channel
        import torch

        from r3d.bench.memory import measure_here

        torch.set_num_threads(int(request["threads"]))
        peak, method = measure_here(
            request["module"], request["case"], int(request["size"]), request["contender"]
        )
        answer = {"peak_bytes": peak, "method": method}
    except BaseException as exc:  # noqa: BLE001 - everything goes back as an answer
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        os.write(out_fd, json.dumps(answer).encode())
    finally:
        os._exit(0)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def serve() -> None:
    """Answers measurement requests until stdin closes."""
    import torch  # noqa: F401 - imported once here, inherited by every child

    from r3d.bench import registry

    registry.all_cases()
    gc.freeze()  # the children's collections skip (and so do not copy) what is alive now
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(request, w)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        data = b"".join(chunks)
        if data:
            answer = data.decode()
        else:
            died = f"the measuring process died ({_describe_status(status)})"
            answer = json.dumps({"error": died})
        sys.stdout.write(answer.replace("\n", " ") + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
