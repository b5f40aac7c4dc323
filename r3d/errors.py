"""r3d's exceptions.

Every error r3d raises on purpose derives from :class:`R3DError`. Bad arguments raise
:class:`InputError` (a ``ValueError``) whose message names the argument, what was expected and
what was received (a bad index into a batch raises :class:`BatchIndexError`, also an
``IndexError``); unreadable or malformed files raise :class:`FileFormatError` naming the path
(and the line, for text formats); a missing input file raises the standard FileNotFoundError
(:class:`MissingFileError`).
"""

from __future__ import annotations

import errno
import os


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


class FileFormatError(R3DError, ValueError):
    """A file could not be read or written: missing, unreadable, malformed or unsupported.

    Args:
        path: the file.
        message: what is wrong with it.
        line: 1-based line number for text formats, when known.
    """

    def __init__(
        self, path: str | os.PathLike, message: str, line: int | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


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

