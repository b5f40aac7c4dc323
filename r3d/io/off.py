"""Object File Format (OFF, COFF, NOFF, CNOFF, STOFF): ASCII reader and writer.

The reader is line based: the keyword (which may share its line with the counts, as in
``OFF8 6 12``), the counts, one vertex per line, one face per line. ``#`` starts a comment
anywhere. Vertex lines may carry normals and colours (as the keyword's N and C prefixes say);
face lines may end with a colour (RGB or RGBA, floats in [0, 1] or integers up to 255). Files
that put several records on one line are read as a token stream instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from r3d.errors import FileFormatError
from r3d.io.mesh_arrays import per_vertex_floats
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    check_finite,
    decode_text,
    fan_triangulate,
    finite_colors,
    format_floats,
    io_warn,
    is_empty,
    read_source,
    require_vertices,
    tensor,
    write_output,
)

__all__ = ["OffData", "load_off", "read_off", "save_off"]

# the keyword in either case ("off" is what PyTorch3D writes); its prefixes as the format has them
_KEYWORD = re.compile(r"^(ST)?(C)?(N)?(4)?(n)?(?i:OFF)")


@dataclass
class OffData:
    """What :func:`read_off` found (numpy arrays, file order).

    Attributes:
        verts: (V, 3) float64; faces: (F, 3) int64 (n-gons fan-triangulated);
        verts_colors: (V, 3) in [0, 1] or None; face_colors: (F, 3) in [0, 1] per triangle or
        None.
    """

    verts: np.ndarray
    faces: np.ndarray
    verts_colors: np.ndarray | None = None
    face_colors: np.ndarray | None = None


def _color(values: list[float]) -> list[float] | None:
    """The RGB of a record's colour values (alpha dropped), or None when it has none."""
    return values[:3] if len(values) >= 3 else None


def _unit_colors(rows: list[list[float] | None]) -> np.ndarray:
    """(N, 3) colours in [0, 1] of the records' RGB (None: white). One scale for the whole
    file: integers 0 to 255 when any value is above 1, else floats in [0, 1]."""
    given = [c for c in rows if c is not None]
    scale = 255.0 if given and max(max(c) for c in given) > 1.0 else 1.0
    white = [scale] * 3
    return np.asarray([white if c is None else c for c in rows], np.float64) / scale


def _plain_colours(first: list[str]) -> bool:
    """Whether a plain ``OFF`` file's first vertex record carries a colour: 6 or 7 values
    (x y z r g b [a]), as PyTorch3D writes and reads them without a C prefix."""
    return len(first) in (6, 7)


def read_off(f, strict_colors: bool = False) -> OffData:
    """Parses an ASCII OFF file (see the module docstring).

    Args:
        f: a path, or a file object (binary or text) read from its current position.
        strict_colors: raise for colours holding NaN or infinity (see below).

    Vertex colours come from COFF records, or from plain OFF records of 6 or 7 values;
    integer colours (any value above 1 in the file) are divided by 255.

    Raises FileFormatError (with the line) for a missing keyword or counts, too few vertex or
    face records, values that are not numbers, faces with indices out of range, NaN/infinite
    positions, binary OFF, and for files without vertices. Vertex or face colours holding NaN
    or infinity are dropped with a warning (None), or raise FileFormatError with
    ``strict_colors``.
    """
    path, data, _ = read_source("load_off", f)
    text = decode_text(data)
    records: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].split()
        if content:
            records.append((lineno, content))
    if not records:
        raise FileFormatError(path, "the file is empty: it holds no vertices")
    lineno, first = records[0]
    match = _KEYWORD.match(first[0])
    has_color = has_normal = has_st = False
    if match:
        has_st, has_color, has_normal = (bool(match.group(i)) for i in (1, 2, 3))
        if match.group(4) or match.group(5):
            raise FileFormatError(path, "only 3D OFF files are supported (4OFF/nOFF are not)",
                                  line=lineno)
        rest = first[0][match.end():]
        tail = ([rest] if rest else []) + first[1:]
        if tail and tail[0].upper() == "BINARY":
            raise FileFormatError(path, "binary OFF files are not supported", line=lineno)
        if tail:
            records[0] = (lineno, tail)
        else:
            records.pop(0)
    elif not all(t.lstrip("-").isdigit() for t in first[:2]):
        raise FileFormatError(path, f"not an OFF file: the first line is {' '.join(first)!r}",
                              line=lineno)
    if not records:
        raise FileFormatError(path, "the header has no vertex and face counts")
    lineno, counts = records[0]
    try:
        nv, nf = int(counts[0]), int(counts[1])
    except (ValueError, IndexError):
        raise FileFormatError(path, f"expected the counts 'V F E', got {' '.join(counts)!r}",
                              line=lineno) from None
    if nv < 0 or nf < 0:
        raise FileFormatError(path, f"negative counts {nv} {nf}", line=lineno)
    require_vertices(path, nv)
    body = records[1:]
    vert_tokens = 3 + (3 if has_normal else 0)
    line_based = len(body) >= nv + nf and all(
        len(toks) >= 3 for _, toks in body[:nv]
    )
    if line_based:
        plain = not (has_st or has_color or has_normal)
        has_color = has_color or (plain and _plain_colours(body[0][1]))
        return _read_lines(path, body, nv, nf, vert_tokens, has_color, strict_colors)
    return _read_stream(path, body, nv, nf, vert_tokens, has_color, has_st)


def _floats(path, tokens: list[str], lineno: int, what: str) -> list[float]:
    try:
        return [float(t) for t in tokens]
    except ValueError:
        raise FileFormatError(path, f"{what} holds a value that is not a number: "
                                    f"{' '.join(tokens)!r}", line=lineno) from None


def _read_lines(path, body, nv, nf, vert_tokens, has_color, strict_colors) -> OffData:
    verts = np.empty((nv, 3), np.float64)
    vlines = np.empty(nv, np.int64)
    vcolors: list | None = [] if has_color else None
    for i in range(nv):
        lineno, toks = body[i]
        vals = _floats(path, toks, lineno, "vertex")
        if len(vals) < 3:
            raise FileFormatError(path, f"vertex needs 3 coordinates, got {len(vals)}",
                                  line=lineno)
        verts[i] = vals[:3]
        vlines[i] = lineno
        if vcolors is not None:
            vcolors.append(_color(vals[vert_tokens:]))
    counts, flat, fcolors, flines = [], [], [], []
    any_color = False
    for lineno, toks in body[nv : nv + nf]:
        try:
            n = int(toks[0])
            idx = [int(t) for t in toks[1 : 1 + n]]
        except ValueError:
            raise FileFormatError(path, f"face record holds a value that is not an integer: "
                                        f"{' '.join(toks)!r}", line=lineno) from None
        if len(idx) != n:
            raise FileFormatError(path, f"face says {n} corners but lists {len(idx)}",
                                  line=lineno)
        if n < 3:
            io_warn(path, f"face with {n} corner(s) skipped", lineno)
            continue
        _check_corners(path, idx, nv, lineno)
        color = _color(_floats(path, toks[1 + n :], lineno, "face colour"))
        any_color = any_color or color is not None
        counts.append(n)
        flat.extend(idx)
        fcolors.append(color)
        flines.append(lineno)
    check_finite(path, verts, "vertex", vlines)
    faces, source = fan_triangulate(np.asarray(counts, np.int64), np.asarray(flat, np.int64))
    face_lines = np.asarray(flines, np.int64)[source]
    vc = None if vcolors is None else _unit_colors(vcolors)
    fc = _unit_colors(fcolors)[source] if any_color else None
    return OffData(verts, faces,
                   finite_colors(path, vc, "colour of vertex", strict_colors, vlines),
                   finite_colors(path, fc, "colour of triangle", strict_colors, face_lines))


def _read_stream(path, body, nv, nf, vert_tokens, has_color, has_st) -> OffData:
    tokens = [t for _, toks in body for t in toks]
    last_line = body[-1][0] if body else None
    if has_color:
        raise FileFormatError(path, "coloured OFF records must be one per line", line=last_line)
    step = vert_tokens + (2 if has_st else 0)
    if len(tokens) < nv * step:
        raise FileFormatError(
            path, f"the header declares {nv} vertices but the file holds fewer", line=last_line)
    verts = np.asarray(_floats(path, tokens[: nv * step], last_line, "vertex"))
    verts = verts.reshape(nv, step)[:, :3]
    pos = nv * step
    counts, flat = [], []
    try:
        for _ in range(nf):
            n = int(tokens[pos])
            idx = [int(t) for t in tokens[pos + 1 : pos + 1 + max(n, 0)]]
            if n < 0 or len(idx) != n:
                raise ValueError(n)
            if n >= 3:
                _check_corners(path, idx, nv, last_line)
            counts.append(n)
            flat.extend(idx)
            pos += 1 + n
    except (ValueError, IndexError):
        raise FileFormatError(
            path, f"the header declares {nf} faces but the face records are malformed, "
                  f"truncated or missing", line=last_line) from None
    check_finite(path, verts, "vertex")
    counts_arr = np.asarray(counts, np.int64)
    keep = counts_arr >= 3
    flat_arr = np.asarray(flat, np.int64)[np.repeat(keep, counts_arr)]
    faces, _ = fan_triangulate(counts_arr[keep], flat_arr)
    return OffData(verts, faces)


def _check_corners(path, idx: list[int], nv: int, lineno: int | None) -> None:
    """FileFormatError unless every corner of a face is a vertex index in [0, nv) (checked on
    the Python ints, before numbers too large for int64 arrays reach one)."""
    if any(not 0 <= i < nv for i in idx):
        raise FileFormatError(path, f"a face uses vertex indices {idx} but the file has {nv} "
                                    f"vertices (valid indices: 0 to {nv - 1})", line=lineno)


def load_off(f) -> tuple[torch.Tensor, torch.Tensor]:
    """Loads the vertices and triangles of an OFF file.

    Args:
        f: a path, or a file object (binary or text, e.g. ``io.BytesIO``, ``io.StringIO``).
    Returns:
        verts: (V, 3) float32; faces: (F, 3) int64 (n-gons fan-triangulated).
    """
    off = read_off(f)
    return tensor(off.verts, torch.float32, "cpu"), tensor(off.faces, torch.int64, "cpu")


def save_off(
    f,
    verts,
    faces,
    verts_colors=None,
    decimal_places: int | None = None,
) -> None:
    """Writes an OFF file (COFF with RGBA float colours when verts_colors is given).

    Args:
        f: a path, written atomically, or a file object (binary or text), written directly.
        verts: (V, 3) float.
        faces: (F, 3) int (float tensors of whole numbers are cast); an empty tensor
            (``torch.tensor([])``) for none.
        verts_colors: (V, 3) float in [0, 1], or None (or an empty tensor).
        decimal_places: digits after the point (default: float32-exact).
    """
    fn = "save_off"
    v = as_float_array(fn, "verts", verts, 3)
    fc = as_index_array(fn, "faces", faces, v.shape[0])
    rows = format_floats(v, decimal_places)
    key = "OFF"
    if not is_empty(verts_colors):
        c = per_vertex_floats(fn, "verts_colors", verts_colors, (3, 4), v.shape[0])[:, :3]
        c = np.concatenate([np.clip(c, 0.0, 1.0), np.ones((c.shape[0], 1))], axis=1)
        rows = [a + " " + b for a, b in zip(rows, format_floats(c, 6))]
        key = "COFF"
    text = [key, f"{v.shape[0]} {fc.shape[0]} 0"] + rows
    text += [f"3 {a} {b} {c}" for a, b, c in fc.tolist()]
    write_output(fn, f, ("\n".join(text) + "\n").encode("ascii"))
