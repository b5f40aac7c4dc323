"""The output folder of a run (``r3d fit``, ``r3d render``, ``r3d train``): one run's files as a
set.

A new run writes into a missing or empty folder only. A folder that holds files is refused,
unless ``overwrite`` is given and the folder holds nothing but an earlier r3d run's outputs:
those are deleted first (the files its marker lists, and the folders they leave empty). Files
that no r3d run wrote are never deleted: a folder holding any is refused even with
``overwrite``, naming them. (The temporary files of atomic writes that a killed run left
behind, :func:`r3d.io.atomic.is_atomic_temp`, are deleted: in a run's folder, one being
resumed, or one holding nothing else.) ``resume`` keeps the folder as it is.

When a run ends (done, interrupted or crashed) its marker, :data:`MARKER`, is written: the
command and every file the run wrote (relative paths; with ``resume`` those of the earlier run
too). When a run fails on bad input (an :class:`~r3d.errors.R3DError` other than
:class:`~r3d.errors.RunInterrupted`) the files it wrote are removed again, and so is the folder
when it made it and nothing else is left there. A run that fails to write its own outputs (a
:class:`~r3d.errors.FileFormatError` naming a file in the folder: a full disk) keeps what it
wrote, as a crashed one does: its last checkpoint can be resumed once there is room.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from r3d.errors import FileFormatError, InputError, R3DError, RunInterrupted
from r3d.io import atomic_open
from r3d.io.atomic import is_atomic_temp

__all__ = ["MARKER", "OutputFolder", "output_folder", "prepare_output_dir", "run_files"]

MARKER = ".r3d-run"  # names the command that wrote the folder and the files it wrote
MARKER_FORMAT = "r3d-run"
SHOWN = 3  # unknown files named in a refusal


def _files(folder: Path) -> dict[str, int]:
    """{relative posix path: mtime in ns} of every file under ``folder`` (links not followed,
    the top-level marker left out)."""
    found = {}
    for root, dirs, names in os.walk(folder):
        base = Path(root)
        for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            if rel != MARKER:
                found[rel] = path.lstat().st_mtime_ns
    return found


def run_files(folder: str | os.PathLike) -> dict | None:
    """The marker of ``folder`` as {"command": str, "files": [relative paths]}, or None when
    there is none (or it is not an r3d run's marker)."""
    try:
        doc = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != MARKER_FORMAT or \
            not isinstance(doc.get("files"), list):
        return None
    return {"command": str(doc.get("command")), "files": [str(f) for f in doc["files"]]}


def _remove_stale_temps(path: Path, resume: bool) -> None:
    """Deletes the atomic writes' temporary files a killed run left in ``path``, when it is
    an r3d run's folder (``resume``, or it has a marker) or holds nothing else."""
    temps = [Path(root) / name for root, _, names in os.walk(path) for name in names
             if is_atomic_temp(name)]
    if temps and (resume or run_files(path) is not None or len(temps) == len(_files(path))):
        for temp in temps:
            temp.unlink(missing_ok=True)


def _check_components(path: Path) -> None:
    """InputError when ``path`` or a folder above it is a file (or a link to nothing)."""
    for part in (path, *path.parents):
        if os.path.lexists(part):
            if part.is_dir():
                return
            if part == path:
                raise InputError(f"the output folder {path} is a file")
            raise InputError(f"the output folder {path} cannot be made: {part} is a file, not "
                             "a folder")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class OutputFolder:
    """The output folder of one run, prepared by :func:`prepare_output_dir`; :meth:`finish`
    ends it."""

    def __init__(self, path: Path, command: str, made: Path | None, before: dict[str, int],
                 earlier: list[str]) -> None:
        self.path = path
        self.command = command
        self.made = made  # the topmost folder this run made, or None
        self.before = before  # the files there when the run started, with their mtimes
        self.earlier = earlier  # the files an earlier run (resumed) wrote

    def written(self) -> list[str]:
        """The files this run wrote so far (new ones, and older ones it rewrote)."""
        return sorted(rel for rel, mtime in _files(self.path).items()
                      if self.before.get(rel) != mtime)

    def finish(self, failed: bool = False) -> None:
        """Ends the run: writes the marker; with ``failed`` (bad input) removes the files this
        run made instead, and the folder when it made it and it is left empty."""
        if not self.path.is_dir():
            return
        written = self.written()
        if failed:
            for rel in written:
                if rel not in self.before:
                    (self.path / rel).unlink()
            _remove_empty_parents(self.path, written)
        elif written or self.earlier:
            with atomic_open(self.path / MARKER, "w", encoding="utf-8") as f:
                json.dump({"format": MARKER_FORMAT, "command": self.command,
                           "files": sorted({*self.earlier, *written})}, f, indent=1)
        if self.made is not None:
            for folder in (self.path, *self.path.parents):
                if not _inside(folder, self.made) or any(folder.iterdir()):
                    break
                folder.rmdir()


def _remove_empty_parents(folder: Path, files: Sequence[str]) -> None:
    """Removes the sub-folders of ``folder`` holding ``files`` that are now empty (deepest
    first; ``folder`` itself stays)."""
    parents = {p for rel in files for p in (folder / rel).parents if folder in p.parents}
    for sub in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if sub.is_dir() and not sub.is_symlink() and not any(sub.iterdir()):
            sub.rmdir()


def _clean(path: Path, keep: Sequence[Path]) -> None:
    """Deletes the earlier run's outputs from ``path`` (``overwrite``), after checking that it
    holds nothing else and none of ``keep`` (the run's inputs)."""
    marker = run_files(path)
    listed = set(marker["files"]) if marker else set()
    found = _files(path)
    unknown = sorted(rel for rel in found if rel not in listed)
    if unknown:
        more = f" and {len(unknown) - SHOWN} more" if len(unknown) > SHOWN else ""
        raise InputError(f"--overwrite replaces only the files an r3d run wrote, and the output "
                         f"folder {path} holds others: {', '.join(unknown[:SHOWN])}{more}; move "
                         "them away or choose another output folder")
    for item in keep:
        if _inside(Path(item).expanduser().resolve(), path.resolve()):
            raise InputError(f"--overwrite would delete {item}, an input of this run, inside "
                             f"the output folder {path}; choose another output folder")
    for rel in found:
        (path / rel).unlink()
    _remove_empty_parents(path, list(found))
    (path / MARKER).unlink(missing_ok=True)


def prepare_output_dir(path: str | os.PathLike, command: str, *, overwrite: bool = False,
                       resume: bool = False, keep: Sequence[str | os.PathLike] = ()
                       ) -> OutputFolder:
    """Makes ``path`` ready for a run of ``command`` (e.g. "r3d fit") and returns it; end it
    with :meth:`OutputFolder.finish` (or use :func:`output_folder`).

    Args:
        path: the output folder (made when missing, with the folders above it).
        overwrite: replace an earlier r3d run's outputs there (see the module docstring).
        resume: the run continues the one whose folder this is: kept as it is.
        keep: the run's input paths; ``overwrite`` refuses to delete any of them.
    Raises:
        InputError naming the folder: a file is in the way, the folder holds files (without
        ``overwrite``), or ``overwrite`` would delete files no r3d run wrote or an input.
    """
    path = Path(path).expanduser()
    _check_components(path)
    if path.is_dir():
        _remove_stale_temps(path, resume)
    if overwrite and resume:
        raise InputError("--overwrite starts the run afresh and --resume continues it: give "
                         "one of them")
    if path.is_dir() and not resume and any(path.iterdir()):
        if not overwrite:
            marker = run_files(path)
            if marker is None:
                raise InputError(f"the output folder {path} is not empty; choose another "
                                 "output folder (--overwrite replaces only an earlier r3d "
                                 "run's outputs)")
            raise InputError(f"the output folder {path} holds an earlier run's outputs "
                             f"({marker['command']}); add --overwrite to replace them, or "
                             "choose another output folder")
        _clean(path, keep)
    made = next((p for p in reversed((path, *path.parents)) if not p.exists()), None)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"the output folder {path} cannot be made: "
                         f"{exc.strerror or exc}") from None
    earlier = (run_files(path) or {"files": []})["files"] if resume else []
    return OutputFolder(path, command, made, _files(path), earlier)


def _unwritable_output(exc: R3DError, folder: Path) -> bool:
    """Whether ``exc`` says that a file in ``folder`` could not be written (or read back)."""
    return isinstance(exc, FileFormatError) and _inside(Path(exc.path).resolve(),
                                                         folder.resolve())


@contextlib.contextmanager
def output_folder(path: str | os.PathLike, command: str, *, overwrite: bool = False,
                  resume: bool = False, keep: Sequence[str | os.PathLike] = ()
                  ) -> Iterator[Path]:
    """:func:`prepare_output_dir` for the ``with`` block, which gets the folder's path;
    :meth:`~OutputFolder.finish` when it ends (``failed`` when it raises an R3DError that is
    not a RunInterrupted, nor a FileFormatError naming a file in the folder: bad input)."""
    folder = prepare_output_dir(path, command, overwrite=overwrite, resume=resume, keep=keep)
    try:
        yield folder.path
    except RunInterrupted:
        folder.finish()
        raise
    except R3DError as exc:
        folder.finish(failed=not _unwritable_output(exc, folder.path))
        raise
    except BaseException:
        folder.finish()
        raise
    folder.finish()
