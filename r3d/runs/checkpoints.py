"""Checkpoints of r3d's runs (fits, trainings): written atomically, read back with a clear
error for anything else."""

from __future__ import annotations

from pathlib import Path

import torch

from r3d.errors import FileFormatError
from r3d.io import atomic_paths


def write_checkpoint(data: dict, path: Path) -> None:
    """``torch.save`` of ``data`` to ``path``, atomically."""
    with atomic_paths(path) as (tmp,):
        torch.save(data, tmp)


def read_checkpoint(path: Path, version: int, kind: str, missing: str) -> dict:
    """The dict a :func:`write_checkpoint` of an r3d ``kind`` run ("fit", "training") saved
    at ``path`` with format ``version``; FileFormatError (``missing`` when there is no file)
    for anything else."""
    if not path.is_file():
        raise FileFormatError(path, missing)
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise FileFormatError(path, f"not an r3d {kind} checkpoint ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != version:
        raise FileFormatError(path, f"not an r3d {kind} checkpoint of this version")
    return data
