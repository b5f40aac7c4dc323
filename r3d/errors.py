"""r3d's exceptions and warnings.

Every error r3d raises on purpose derives from :class:`R3DError`. Bad arguments raise
:class:`InputError` (a ``ValueError``) whose message names the argument, what was expected and
what was received (a bad index into a batch raises :class:`BatchIndexError`, also an
``IndexError``); unreadable or malformed files raise :class:`FileFormatError` naming the path
(and the line, for text formats); a missing input file raises the standard FileNotFoundError
(:class:`MissingFileError`).

Every warning r3d raises on purpose is an :class:`R3DWarning` (a ``UserWarning``), so
``warnings.filterwarnings("ignore", category=r3d.R3DWarning)`` silences them all, and
``"error"`` turns them into exceptions; something skipped or read differently in a file is a
:class:`FileWarning` naming the path (and the line); a PyTorch3D name kept for compatibility is an
:class:`R3DDeprecationWarning` (also a ``PendingDeprecationWarning``, as PyTorch3D raises).
"""

from __future__ import annotations

import errno
import os
import sys
import warnings


class _AboutFile:
    """What the errors and warnings about a file share: ``path``, ``line`` (1-based, or None)
    and ``reason``; ``str()`` is ``path:line: reason`` (``path: reason`` without a line)."""

    def __init__(
        self, path: str | os.PathLike, message: str, line: int | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class R3DError(Exception):
    """Base class of every error raised by r3d on purpose."""


class InputError(R3DError, ValueError):
    """An argument has the wrong type, shape, dtype, device or value."""


class BatchIndexError(InputError, IndexError):
    """An index into a batch (of meshes, clouds, textures, ...) is out of range or not an index.

    Both a ``ValueError`` and an ``IndexError``: PyTorch3D raises ``IndexError`` for
    ``meshes[i]`` and ``ValueError`` for ``get_mesh_verts_faces(i)``, and code catching
    either keeps working.
    """


class FileFormatError(_AboutFile, R3DError, ValueError):
    """A file could not be read or written: missing, unreadable, malformed or unsupported.

    Args:
        path: the file.
        message: what is wrong with it.
        line: 1-based line number for text formats, when known.
    """


class NativeError(R3DError, RuntimeError):
    """A native kernel is unavailable for the requested device, or failed."""


class RunInterrupted(R3DError):
    """A long run (a fit, a training) was stopped by Ctrl-C; ``iteration`` is where its last
    checkpoint resumes (None when none was written), ``out`` its output folder."""

    def __init__(self, out: str | os.PathLike, iteration: int | None) -> None:
        self.out = os.fspath(out)
        self.iteration = iteration
        where = (f"resume from iteration {iteration} with --resume {self.out}" if iteration
                 else "no checkpoint was written yet")
        super().__init__(f"interrupted; {where}")


class MissingFileError(R3DError, FileNotFoundError):
    """An input file or folder is not there (a FileNotFoundError, ``filename`` set): ``str()``
    is ``path: reason``, the reason saying what was looked for."""

    def __init__(self, path: str | os.PathLike, reason: str = "no such file") -> None:
        super().__init__(errno.ENOENT, reason, os.fspath(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"



class R3DWarning(UserWarning):
    """Base class of every warning raised by r3d on purpose (a ``UserWarning``, so filters on
    ``UserWarning`` keep matching)."""


class FileWarning(_AboutFile, R3DWarning):
    """Part of a file was skipped or read differently (the file still loads): ``str()`` is
    ``path:line: reason``, as :class:`FileFormatError`'s.

    Args:
        path: the file.
        message: what was skipped or changed, and why.
        line: 1-based line number for text formats, when known.
    """


class R3DDeprecationWarning(R3DWarning, PendingDeprecationWarning):
    """A PyTorch3D name r3d keeps for compatibility is used: hidden by Python's default filters
    (a ``PendingDeprecationWarning``, as PyTorch3D raises), shown by test runners."""


# Modules whose frames a warning skips to name the user's line: r3d's own, and torch's
# (nn.Module.__call__ sits between a user's call and r3d's forward).
_LIBRARY_PACKAGES = ("r3d", "torch")


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the innermost caller of :func:`warn` outside r3d and torch."""
    frame = sys._getframe(2)  # warn's caller
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.partition(".")[0] not in _LIBRARY_PACKAGES:
            return level
        frame = frame.f_back
        level += 1
    return level


def warn(message: str | R3DWarning, category: type[R3DWarning] = R3DWarning) -> None:
    """Raises the warning ``message`` (a text of ``category``, or an R3DWarning instance) at
    the user's line: the innermost caller outside r3d and torch."""
    warnings.warn(message, category, stacklevel=_user_stacklevel())
