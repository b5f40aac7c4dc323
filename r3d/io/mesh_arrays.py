"""Small array helpers that more than one format module (PLY, glTF) uses."""

from __future__ import annotations

import numpy as np

from r3d.errors import InputError
from r3d.io.utils import as_float_array


def per_vertex_floats(fn: str, arg: str, value, cols, num_verts: int) -> np.ndarray:
    """A saver's per-vertex float argument, checked to have one row per vertex.

    Args:
        fn, arg: saver and argument names for the error messages.
        value: (V, c) tensor or array; ``cols`` is c or a sequence of allowed c.
        num_verts: V, the number of vertices.
    Returns:
        (V, c) float64 array. Raises InputError (see :func:`as_float_array`, and for a row
        count other than ``num_verts``).
    """
    arr = as_float_array(fn, arg, value, cols)
    if arr.shape[0] != num_verts:
        raise InputError(f"{fn}: {arg} must have {num_verts} rows, got {arr.shape[0]}")
    return arr


def distinct_corners(faces: np.ndarray) -> np.ndarray:
    """(F,) bool mask of the triangles of an (F, 3) index array whose 3 corners differ."""
    return (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (
        faces[:, 0] != faces[:, 2])
