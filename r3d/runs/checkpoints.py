"""Checkpoints of r3d's runs (fits, trainings): written atomically, read back safely, with a
clear error for anything else.

A checkpoint is a ``torch.save`` archive of a dict holding only tensors and plain data
(dicts, lists, tuples, str, int, float, bool, None): the recipe as YAML text, the optimiser's
``state_dict``, random generator states as uint8 tensors. It is read with
``torch.load(..., weights_only=True)``, which builds nothing else, so a checkpoint from someone
else cannot run code: a file that needs more (any other Python object, e.g. a crafted pickle)
is refused with a FileFormatError, before any of it is built.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
import yaml

from r3d.errors import FileFormatError
from r3d.io import atomic_paths

__all__ = ["checkpoint_recipe", "read_checkpoint", "recipe_text", "write_checkpoint"]

PLAIN = (str, int, float, bool, type(None))


def _check_plain(value, where: str = "checkpoint") -> None:
    """TypeError naming the entry of ``value`` that is not a tensor or plain data."""
    if isinstance(value, (torch.Tensor, *PLAIN)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: key {key!r} is not a str or int")
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    else:
        raise TypeError(f"{where} is a {type(value).__name__}, not a tensor or plain data")


def write_checkpoint(data: dict, path: Path, beside: Mapping[Path, str] | None = None) -> None:
    """``torch.save`` of ``data`` (only tensors and plain data: TypeError otherwise) to
    ``path``, with the text files ``beside`` it (path: text, e.g. the recipe) as one set:
    every file is written in full before any replaces its target (the checkpoint last), so
    a full disk leaves all of them as they were, and a killed process leaves them matching.

    Raises FileFormatError naming the file that could not be written (e.g. disk full).
    """
    _check_plain(data)
    buffer = io.BytesIO()  # serialised first: a failed write is then a plain OSError
    torch.save(data, buffer)
    files = {Path(k): v.encode("utf-8") for k, v in (beside or {}).items()}
    files[path] = buffer.getvalue()
    with atomic_paths(*files) as temps:
        for (target, content), temp in zip(files.items(), temps):
            try:
                Path(temp).write_bytes(content)
            except OSError as exc:
                raise FileFormatError(target, f"cannot write: {exc.strerror or exc}") from None


def recipe_text(recipe: dict) -> str:
    """A recipe's plain data (``recipe_to_dict``) as the YAML text a checkpoint stores."""
    return yaml.safe_dump(recipe, sort_keys=False)


def checkpoint_recipe(data: dict, path: Path) -> dict:
    """The recipe (plain data) a checkpoint's ``data`` (read from ``path``) stores."""
    try:
        recipe = yaml.safe_load(data.get("recipe"))
    except (yaml.YAMLError, AttributeError) as exc:  # AttributeError: not text
        raise FileFormatError(path, f"the checkpoint's recipe is not YAML text ({exc})") from None
    if not isinstance(recipe, dict):
        raise FileFormatError(path, "the checkpoint's recipe is not a YAML mapping")
    return recipe


def _unsafe(exc: pickle.UnpicklingError) -> str:
    """What a refused checkpoint needed (``module.name`` of the first global, when torch's
    message names it)."""
    found = re.search(r"GLOBAL ([\w.]+)", str(exc))
    return f"it needs {found.group(1)}" if found else "it holds other Python objects"


def read_checkpoint(path: Path, version: int, kind: str, missing: str) -> dict:
    """The dict a :func:`write_checkpoint` of an r3d ``kind`` run ("fit", "training") saved
    at ``path`` with format ``version``.

    Raises FileFormatError naming ``path``: ``missing`` when there is no file; a file that is
    not a ``torch.save`` archive, is damaged, needs anything but tensors and plain data to
    load (refused without building any of it), or has another format version.
    """
    if not path.is_file():
        raise FileFormatError(path, missing)
    if not zipfile.is_zipfile(path):
        raise FileFormatError(path, f"not an r3d {kind} checkpoint (not a torch.save archive)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise FileFormatError(path, f"not a safe r3d {kind} checkpoint: {_unsafe(exc)}, and "
                              "r3d loads only tensors and plain data from checkpoints (those "
                              f"of r3d before format version {version} are refused too)"
                              ) from None
    except Exception as exc:  # noqa: BLE001 - a damaged archive: torch raises many kinds
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileFormatError(path, f"not an r3d {kind} checkpoint ({reason})") from None
    if not isinstance(data, dict) or "version" not in data:
        raise FileFormatError(path, f"not an r3d {kind} checkpoint")
    if data["version"] != version:
        raise FileFormatError(path, f"an r3d {kind} checkpoint of format version "
                              f"{data['version']}; this r3d reads version {version} only "
                              "(start the run afresh)")
    return data
