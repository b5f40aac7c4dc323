"""STL (stereolithography), ASCII and binary.

STL stores a triangle soup: each triangle has its own three corners. The loader keeps it as
stored (3 vertices per triangle, vertex 3k + j is corner j of triangle k) unless asked to weld
exactly equal positions with ``merge_vertices=True``. Binary files are recognised by their
size (84 + 50 x count bytes), so a binary header that starts with ``solid`` is not mistaken for
ASCII; ASCII files may hold several ``solid ... endsolid`` blocks.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from r3d.errors import FileFormatError
from r3d.io.atomic import atomic_open
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    check_finite,
    decode_text,
    format_floats,
    read_file_bytes,
    require_vertices,
    tensor,
)

__all__ = ["load_stl", "read_stl", "save_stl"]

_BINARY_DTYPE = np.dtype([
    ("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attribute", "<u2"),
])


def _is_binary(data: bytes) -> bool:
    if len(data) >= 84:
        count = int(np.frombuffer(data, "<u4", 1, 80)[0])
        if len(data) == 84 + 50 * count:
            return True
    return not data.lstrip()[:5].lower() == b"solid"


def _read_binary(path: str, data: bytes) -> np.ndarray:
    if len(data) < 84:
        raise FileFormatError(path, f"binary STL needs at least 84 bytes, the file has "
                                    f"{len(data)}")
    count = int(np.frombuffer(data, "<u4", 1, 80)[0])
    need = 84 + 50 * count
    if len(data) < need:
        raise FileFormatError(path, f"the binary STL is truncated: the header declares {count} "
                                    f"triangles ({need} bytes), the file has {len(data)} bytes")
    tris = np.frombuffer(data, _BINARY_DTYPE, count, 84)["corners"].astype(np.float64)
    return tris.reshape(-1, 3)


def _read_ascii(path: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    corners: list[list[float]] = []
    lines: list[int] = []
    in_loop = False
    loop_start = 0
    loop_count = 0
    for lineno, raw in enumerate(decode_text(data).splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        key = parts[0].lower()
        if key == "vertex":
            if not in_loop:
                raise FileFormatError(path, "'vertex' outside an 'outer loop'", line=lineno)
            try:
                xyz = [float(p) for p in parts[1:4]]
            except ValueError:
                raise FileFormatError(path, f"vertex holds a value that is not a number: "
                                            f"{raw.strip()!r}", line=lineno) from None
            if len(xyz) != 3:
                raise FileFormatError(path, "a vertex needs 3 coordinates", line=lineno)
            corners.append(xyz)
            lines.append(lineno)
            loop_count += 1
        elif key == "outer":
            if in_loop:
                raise FileFormatError(path, "'outer loop' inside a facet (a missing 'endloop')",
                                      line=lineno)
            in_loop, loop_start, loop_count = True, lineno, 0
        elif key == "endloop":
            if loop_count != 3:
                raise FileFormatError(path, f"a facet has {loop_count} vertices (STL facets "
                                            f"are triangles)", line=loop_start)
            in_loop = False
        elif key in ("solid", "endsolid", "facet", "endfacet"):
            continue
        else:
            raise FileFormatError(path, f"unexpected ASCII STL line {raw.strip()!r}",
                                  line=lineno)
    if in_loop:
        raise FileFormatError(path, "the file ends inside a facet", line=loop_start)
    return np.asarray(corners, np.float64).reshape(-1, 3), np.asarray(lines, np.int64)


def read_stl(path: str | os.PathLike, merge_vertices: bool = False) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Parses an STL file into numpy arrays.

    Returns:
        verts: (3F, 3) float64 corners (or (V, 3) welded positions, first-occurrence order,
            with ``merge_vertices``); faces: (F, 3) int64.

    Raises FileFormatError for truncated or malformed files, NaN/infinite coordinates and files
    without triangles.
    """
    path = os.fspath(path)
    data = read_file_bytes(path)
    if _is_binary(data):
        verts, lines = _read_binary(path, data), None
    else:
        verts, lines = _read_ascii(path, data)
    require_vertices(path, verts.shape[0], "triangles")
    check_finite(path, verts, "vertex", lines)
    faces = np.arange(verts.shape[0], dtype=np.int64).reshape(-1, 3)
    if merge_vertices:
        _, first, inverse = np.unique(verts, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        verts = verts[np.sort(first)]
        faces = rank[inverse].reshape(-1, 3)
    return verts, faces


def load_stl(
    f: str | os.PathLike, merge_vertices: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loads an STL file.

    Args:
        f: path of the .stl file (ASCII or binary).
        merge_vertices: weld corners with exactly equal coordinates.
    Returns:
        verts: (3F, 3) float32 (or (V, 3) when merged); faces: (F, 3) int64.
    """
    verts, faces = read_stl(f, merge_vertices)
    return tensor(verts, torch.float32, "cpu"), tensor(faces, torch.int64, "cpu")


def save_stl(
    f: str | os.PathLike, verts, faces, ascii: bool = False, decimal_places: int | None = None
) -> None:
    """Writes triangles to an STL file (binary by default), atomically.

    Args:
        verts: (V, 3) float; faces: (F, 3) int. Facet normals are computed from the corners.
    """
    fn = "save_stl"
    v = as_float_array(fn, "verts", verts, 3)
    fc = as_index_array(fn, "faces", faces, v.shape[0])
    tris = v[fc]  # (F, 3, 3)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
    if ascii:
        out = ["solid r3d"]
        nrows = format_floats(normals, decimal_places)
        crows = format_floats(tris.reshape(-1, 3), decimal_places)
        for k, nrow in enumerate(nrows):
            out += [f"facet normal {nrow}", "outer loop"]
            out += [f"vertex {crows[3 * k + j]}" for j in range(3)]
            out += ["endloop", "endfacet"]
        out.append("endsolid r3d")
        with atomic_open(f, "w", encoding="ascii", newline="\n") as handle:
            handle.write("\n".join(out) + "\n")
        return
    body = np.zeros(fc.shape[0], _BINARY_DTYPE)
    body["normal"] = normals
    body["corners"] = tris
    header = b"binary STL written by r3d".ljust(80, b" ")
    with atomic_open(f, "wb") as handle:
        handle.write(header)
        handle.write(np.uint32(fc.shape[0]).astype("<u4").tobytes())
        handle.write(body.tobytes())
