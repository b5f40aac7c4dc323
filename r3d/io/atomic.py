"""Atomic file output: write to temporary files beside the targets, then rename over them.

Every saver in :mod:`r3d.io` writes a path through :func:`atomic_paths` (or :func:`atomic_open`,
built on it), so a failure part-way (bad input, full disk, an exception in an encoder) leaves no
partial file and does not touch a file that already exists at the target path. (A file object
given to a saver is the caller's: it is written directly.)
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator

from r3d.errors import FileFormatError

__all__ = ["atomic_open", "atomic_paths", "is_atomic_temp"]

TEMP_SUFFIX = ".tmp"
# ".<target's name>.<mkstemp's 8 random characters>.tmp"
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[str]]:
    """Temporary paths standing in for ``paths`` until the ``with`` block succeeds.

    Each temporary file is created empty in its target's folder. When the block exits normally
    each one is renamed over its target with :func:`os.replace` (atomic on one file system);
    when it raises, every temporary file is removed and the targets are left as they were
    (an OSError, e.g. a full disk, is re-raised as FileFormatError naming the first target).

    Example::

        with atomic_paths("mesh.obj", "mesh.mtl") as (tmp_obj, tmp_mtl):
            write_obj(tmp_obj); write_mtl(tmp_mtl)
    """
    targets = [os.fspath(p) for p in paths]
    temps: list[str] = []
    try:
        for target in targets:
            folder = os.path.dirname(os.path.abspath(target))
            if not os.path.isdir(folder):
                raise FileFormatError(target, f"cannot write: folder {folder} does not exist")
            try:
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{os.path.basename(target)}.", suffix=TEMP_SUFFIX, dir=folder
                )
            except OSError as exc:
                raise FileFormatError(target, f"cannot write: {exc.strerror or exc}") from exc
            os.close(fd)
            temps.append(tmp)
            mode = 0o666 & ~_UMASK
            if os.path.exists(target):
                mode = os.stat(target).st_mode & 0o777
            os.chmod(tmp, mode)
        try:
            yield list(temps)
        except OSError as exc:
            raise FileFormatError(
                targets[0], f"cannot write: {exc.strerror or exc}"
            ) from exc
        while temps:
            tmp = temps[0]
            target = targets[len(targets) - len(temps)]
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise FileFormatError(target, f"cannot write: {exc.strerror or exc}") from exc
            temps.pop(0)
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.remove(tmp)


def is_atomic_temp(name: str) -> bool:
    """Whether file name ``name`` is that of an :func:`atomic_paths` temporary: one that a
    killed process (SIGKILL, power loss) can leave behind beside its target."""
    return _TEMP_NAME.fullmatch(name) is not None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator:
    """``open(path, mode)`` that only replaces ``path`` when the ``with`` block succeeds.

    ``mode`` must be a write mode ("w", "wb", "wt"); ``kwargs`` go to :func:`open` (e.g.
    ``encoding``, ``newline``).
    """
    if "w" not in mode:
        raise ValueError(f"atomic_open: mode must be a write mode, got {mode!r}")
    with atomic_paths(path) as (tmp,):
        with open(tmp, mode, **kwargs) as handle:
            yield handle
