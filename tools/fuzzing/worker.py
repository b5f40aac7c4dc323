"""The worker process: prepares a folder per format, then runs the inputs it is sent through
:func:`fuzzing.oracle.run_input` and sends back each :class:`~fuzzing.oracle.Outcome`.

It runs torch on one thread (the machine is shared, and a thread pool started mid-load would
count against that load's memory) and loads one seed of every format before it answers, so that
lazy imports and first-call caches are not charged to the first input.
"""

from __future__ import annotations

import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from fuzzing.formats import FORMATS, Format
from fuzzing.oracle import Outcome, limit_malloc_caching, run_input

__all__ = ["run_in_folder", "serve"]


def run_in_folder(fmt: Format, folder: Path, data: bytes) -> Outcome:
    """Writes ``data`` to the format's file in ``folder`` (prepared by its ``setup``) and runs
    it through the oracle."""
    path = folder / fmt.file
    path.write_bytes(data)
    return run_input(fmt.load, path, len(data))


def serve(conn: Connection, warm_up: dict[str, bytes]) -> None:
    """Answers ``(format name, bytes)`` requests on ``conn`` with Outcomes until it is sent
    None; ``warm_up`` holds one seed of each format it will be sent."""
    torch.set_num_threads(1)
    limit_malloc_caching()
    with tempfile.TemporaryDirectory(prefix="r3d-fuzz-") as tmp:
        folders = {}
        for name, data in warm_up.items():
            folders[name] = Path(tmp) / name
            folders[name].mkdir()
            if FORMATS[name].setup is not None:
                FORMATS[name].setup(folders[name])
            run_in_folder(FORMATS[name], folders[name], data)
        conn.send("ready")
        while (request := conn.recv()) is not None:
            name, data = request
            conn.send(run_in_folder(FORMATS[name], folders[name], data))
