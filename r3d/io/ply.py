"""Stanford PLY: a parser for ASCII and binary (little / big endian) files, and a writer.

The parser reads every element the header declares, in order, with any scalar type and any
list property, so unknown elements and properties are skipped correctly. Binary bodies are
read with numpy structured dtypes (a fast path for lists of constant length, a row walker
otherwise). ASCII bodies are read row by row: one element instance per line, extra trailing
columns ignored. The vertex order and count of the file are kept.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_open
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    check_finite,
    check_index_range,
    fan_triangulate,
    format_floats,
    io_warn,
    read_file_bytes,
    require_vertices,
    tensor,
)

__all__ = ["PlyData", "load_ply", "read_ply", "save_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


@dataclass
class _Property:
    name: str
    dtype: str  # numpy type code without byte order, e.g. "f4"
    count_dtype: str | None = None  # list properties: type of the length prefix


@dataclass
class _Element:
    name: str
    count: int
    line: int
    properties: list[_Property] = field(default_factory=list)


@dataclass
class PlyData:
    """What :func:`read_ply` found in a PLY file (numpy arrays, file order).

    Attributes:
        verts: (V, 3) float64 positions.
        faces: (F, 3) int64 triangles (n-gons fan-triangulated), possibly (0, 3).
        normals: (V, 3) float64 or None (``nx ny nz``).
        colors: (V, 3) float64 in [0, 1] or None (``red green blue``; integer types are
            divided by their maximum).
        face_colors: (F, 3) float64 in [0, 1] per triangle or None.
        comments: the header's comment lines.
    """

    verts: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None
    face_colors: np.ndarray | None = None
    comments: list[str] = field(default_factory=list)


def _parse_header(path: str, data: bytes) -> tuple[str | None, list[_Element], int, int, list]:
    """Format (byte order or None for ASCII), elements, body offset, first body line, comments."""
    if not data.startswith(b"ply"):
        raise FileFormatError(path, "not a PLY file (it does not start with 'ply')", line=1)
    end = data.find(b"end_header")
    if end < 0:
        raise FileFormatError(path, "the PLY header has no 'end_header' line")
    nl = data.find(b"\n", end)
    body = len(data) if nl < 0 else nl + 1
    header = data[:end].decode("latin-1").replace("\r", "").split("\n")
    fmt_seen = False
    order: str | None = None
    elements: list[_Element] = []
    comments: list[str] = []
    for lineno, raw in enumerate(header, start=1):
        parts = raw.split()
        if not parts or lineno == 1:
            if lineno == 1 and raw.strip() != "ply":
                raise FileFormatError(path, "the first line must be 'ply'", line=1)
            continue
        key = parts[0]
        if key == "format":
            if len(parts) < 2 or parts[1] not in _FORMATS:
                raise FileFormatError(
                    path, f"unknown PLY format {' '.join(parts[1:])!r} (expected ascii, "
                          f"binary_little_endian or binary_big_endian)", line=lineno)
            order = _FORMATS[parts[1]]
            fmt_seen = True
        elif key in ("comment", "obj_info"):
            comments.append(raw.strip()[len(key):].strip())
        elif key == "element":
            if len(parts) != 3:
                raise FileFormatError(path, "expected 'element <name> <count>'", line=lineno)
            try:
                count = int(parts[2])
            except ValueError:
                raise FileFormatError(path, f"element count {parts[2]!r} is not an integer",
                                      line=lineno) from None
            if count < 0:
                raise FileFormatError(path, f"negative element count {count}", line=lineno)
            elements.append(_Element(parts[1], count, lineno))
        elif key == "property":
            if not elements:
                raise FileFormatError(path, "property before any element", line=lineno)
            if len(parts) >= 2 and parts[1] == "list":
                if len(parts) != 5:
                    raise FileFormatError(
                        path, "expected 'property list <count type> <item type> <name>'",
                        line=lineno)
                for t in parts[2:4]:
                    if t not in _TYPES:
                        raise FileFormatError(path, f"unknown PLY property type {t!r}",
                                              line=lineno)
                if _TYPES[parts[2]][0] == "f":
                    raise FileFormatError(path, f"list length type {parts[2]!r} is not an "
                                                f"integer type", line=lineno)
                elements[-1].properties.append(
                    _Property(parts[4], _TYPES[parts[3]], _TYPES[parts[2]]))
            else:
                if len(parts) != 3:
                    raise FileFormatError(path, "expected 'property <type> <name>'",
                                          line=lineno)
                if parts[1] not in _TYPES:
                    raise FileFormatError(path, f"unknown PLY property type {parts[1]!r}",
                                          line=lineno)
                elements[-1].properties.append(_Property(parts[2], _TYPES[parts[1]]))
        else:
            raise FileFormatError(path, f"unknown PLY header line {raw.strip()!r}", line=lineno)
    if not fmt_seen:
        raise FileFormatError(path, "the PLY header has no 'format' line")
    return order, elements, body, len(header) + 1, comments


# -- binary bodies ----------------------------------------------------------------------------


def _read_binary_element(path, data: bytes, offset: int, el: _Element, order: str):
    """Reads one element; returns ({property: values}, new offset).

    Scalars: (count,) arrays. Lists: (counts (count,), flat values) pairs.
    """
    props = el.properties
    if el.count == 0:
        out = {}
        for p in props:
            empty = np.zeros((0,), p.dtype)
            out[p.name] = (np.zeros((0,), np.int64), empty) if p.count_dtype else empty
        return out, offset
    if not any(p.count_dtype for p in props):
        dt = np.dtype([(f"p{i}", order + p.dtype) for i, p in enumerate(props)])
        need = dt.itemsize * el.count
        if offset + need > len(data):
            raise FileFormatError(
                path, f"the binary body is truncated: element '{el.name}' needs {need} bytes "
                      f"at offset {offset}, the file has {len(data) - offset}")
        arr = np.frombuffer(data, dtype=dt, count=el.count, offset=offset)
        return {p.name: arr[f"p{i}"] for i, p in enumerate(props)}, offset + need
    fast = _binary_lists_constant(data, offset, el, order)
    if fast is not None:
        return fast
    return _binary_rows(path, data, offset, el, order)


def _binary_lists_constant(data: bytes, offset: int, el: _Element, order: str):
    """Fast path: every list has the length it has in the first row. None if not so."""
    fields = []
    pos = offset
    lengths = []
    for i, p in enumerate(el.properties):
        if p.count_dtype is None:
            fields.append((f"p{i}", order + p.dtype))
            pos += np.dtype(p.dtype).itemsize
            continue
        csize = np.dtype(p.count_dtype).itemsize
        if pos + csize > len(data):
            return None
        n = int(np.frombuffer(data, order + p.count_dtype, 1, pos)[0])
        lengths.append(n)
        fields.append((f"c{i}", order + p.count_dtype))
        if n > 0:
            fields.append((f"p{i}", order + p.dtype, (n,)))
        pos += csize + n * np.dtype(p.dtype).itemsize
    dt = np.dtype(fields)
    if offset + dt.itemsize * el.count > len(data):
        return None
    arr = np.frombuffer(data, dtype=dt, count=el.count, offset=offset)
    out = {}
    k = 0
    for i, p in enumerate(el.properties):
        if p.count_dtype is None:
            out[p.name] = arr[f"p{i}"]
            continue
        n = lengths[k]
        k += 1
        if not np.all(arr[f"c{i}"] == n):
            return None
        values = arr[f"p{i}"].reshape(-1) if n > 0 else np.zeros((0,), p.dtype)
        out[p.name] = (np.full(el.count, n, dtype=np.int64), values)
    return out, offset + dt.itemsize * el.count


def _binary_rows(path, data: bytes, offset: int, el: _Element, order: str):
    """Row-by-row walker for lists whose length varies."""
    codes = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "f4": "f",
             "f8": "d"}
    bo = "<" if order == "<" else ">"
    scalars: dict[str, list] = {p.name: [] for p in el.properties if p.count_dtype is None}
    lists: dict[str, tuple[list, list]] = {
        p.name: ([], []) for p in el.properties if p.count_dtype is not None}
    plan = []
    for p in el.properties:
        if p.count_dtype is None:
            st = struct.Struct(bo + codes[p.dtype])
            plan.append((p.name, st, None))
        else:
            plan.append((p.name, struct.Struct(bo + codes[p.count_dtype]), codes[p.dtype]))
    pos = offset
    size = len(data)
    try:
        for _ in range(el.count):
            for name, st, item in plan:
                (value,) = st.unpack_from(data, pos)
                pos += st.size
                if item is None:
                    scalars[name].append(value)
                    continue
                if value < 0:
                    raise FileFormatError(path, f"negative list length in element '{el.name}'")
                itemsize = struct.calcsize(bo + item)
                if pos + value * itemsize > size:
                    raise struct.error("truncated")
                counts, flat = lists[name]
                counts.append(value)
                flat.extend(struct.unpack_from(f"{bo}{value}{item}", data, pos))
                pos += value * itemsize
    except struct.error:
        raise FileFormatError(
            path, f"the binary body is truncated inside element '{el.name}'") from None
    out: dict = {}
    for p in el.properties:
        if p.count_dtype is None:
            out[p.name] = np.asarray(scalars[p.name], dtype=p.dtype)
        else:
            counts, flat = lists[p.name]
            out[p.name] = (np.asarray(counts, np.int64), np.asarray(flat, dtype=p.dtype))
    return out, pos


# -- ASCII bodies -----------------------------------------------------------------------------


def _read_ascii_body(path, text_lines: list[str], first_line: int, elements: list[_Element]):
    """Reads every element; returns {element: ({property: values}, row line numbers)}."""
    result = {}
    i = 0
    n = len(text_lines)
    for el in elements:
        rows: list[list[str]] = []
        linenos: list[int] = []
        while len(rows) < el.count:
            if i >= n:
                last = n - 1 if n and not text_lines[-1].strip() else n
                raise FileFormatError(
                    path, f"the file ends after {len(rows)} of the {el.count} '{el.name}' rows "
                          f"the header declares", line=first_line + max(last - 1, 0))
            tokens = text_lines[i].split()
            i += 1
            if tokens:
                rows.append(tokens)
                linenos.append(first_line + i - 1)
        result[el.name] = (_ascii_element(path, el, rows, linenos), np.asarray(linenos))
    return result


def _ascii_element(path, el: _Element, rows: list[list[str]], linenos: list[int]) -> dict:
    props = el.properties
    if not rows:
        out = {}
        for p in props:
            empty = np.zeros((0,), p.dtype)
            out[p.name] = (np.zeros((0,), np.int64), empty) if p.count_dtype else empty
        return out
    width = len(rows[0])
    if all(len(r) == width for r in rows):
        try:
            table = np.array(rows, dtype=np.float64)
        except ValueError:
            table = None
        if table is not None:
            out = _ascii_table(el, table)
            if out is not None:
                return out
    return _ascii_rows(path, el, rows, linenos)


def _ascii_table(el: _Element, table: np.ndarray) -> dict | None:
    """Vectorised read when every row has the same columns and every list one length."""
    out = {}
    col = 0
    for p in el.properties:
        if col >= table.shape[1]:
            return None
        if p.count_dtype is None:
            out[p.name] = table[:, col].astype(p.dtype)
            col += 1
            continue
        counts = table[:, col]
        n = int(counts[0])
        if n < 0 or not np.all(counts == n) or col + 1 + n > table.shape[1]:
            return None
        values = table[:, col + 1 : col + 1 + n].astype(p.dtype).reshape(-1)
        out[p.name] = (np.full(table.shape[0], n, np.int64), values)
        col += 1 + n
    return out


def _ascii_rows(path, el: _Element, rows: list[list[str]], linenos: list[int]) -> dict:
    scalars: dict[str, list[float]] = {p.name: [] for p in el.properties if not p.count_dtype}
    lists: dict[str, tuple[list, list]] = {p.name: ([], []) for p in el.properties
                                           if p.count_dtype}
    for tokens, lineno in zip(rows, linenos):
        col = 0
        try:
            for p in el.properties:
                if col >= len(tokens):
                    raise FileFormatError(
                        path, f"'{el.name}' row has {len(tokens)} values, too few for its "
                              f"properties (missing '{p.name}')", line=lineno)
                if p.count_dtype is None:
                    scalars[p.name].append(float(tokens[col]))
                    col += 1
                    continue
                count = int(float(tokens[col]))
                if count < 0 or col + 1 + count > len(tokens):
                    raise FileFormatError(
                        path, f"list '{p.name}' says {count} values but the row has "
                              f"{len(tokens) - col - 1} left", line=lineno)
                counts, flat = lists[p.name]
                counts.append(count)
                flat.extend(float(t) for t in tokens[col + 1 : col + 1 + count])
                col += 1 + count
        except FileFormatError:
            raise
        except ValueError:
            raise FileFormatError(path, f"'{el.name}' row holds a value that is not a number: "
                                        f"{' '.join(tokens)!r}", line=lineno) from None
    out: dict = {}
    for p in el.properties:
        if p.count_dtype is None:
            out[p.name] = np.asarray(scalars[p.name], dtype=np.float64).astype(p.dtype)
        else:
            counts, flat = lists[p.name]
            out[p.name] = (np.asarray(counts, np.int64),
                           np.asarray(flat, dtype=np.float64).astype(p.dtype))
    return out


# -- interpretation ----------------------------------------------------------------------------


def _color_scale(dtype: np.dtype) -> float:
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max)
    return 1.0


def _colors(values: dict, names_sets) -> np.ndarray | None:
    for names in names_sets:
        if all(n in values and not isinstance(values[n], tuple) for n in names):
            cols = [values[n] for n in names]
            scale = _color_scale(cols[0].dtype)
            return np.stack([c.astype(np.float64) for c in cols], axis=1) / scale
    return None


_COLOR_NAMES = (("red", "green", "blue"), ("r", "g", "b"),
                ("diffuse_red", "diffuse_green", "diffuse_blue"))


def _strips_to_faces(counts: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangle strips (-1 restarts a strip) to triangles; returns faces and source rows."""
    faces, source = [], []
    start = 0
    for row, c in enumerate(counts.tolist()):
        strip: list[int] = []
        for v in flat[start : start + c].tolist() + [-1]:
            if v < 0:
                for k in range(len(strip) - 2):
                    a, b, d = strip[k], strip[k + 1], strip[k + 2]
                    tri = (a, b, d) if k % 2 == 0 else (b, a, d)
                    if len(set(tri)) == 3:
                        faces.append(tri)
                        source.append(row)
                strip = []
            else:
                strip.append(v)
        start += c
    return (np.asarray(faces, np.int64).reshape(-1, 3), np.asarray(source, np.int64))


def read_ply(path: str | os.PathLike) -> PlyData:
    """Parses a PLY file into numpy arrays (see :class:`PlyData`).

    Raises FileFormatError (with the line for ASCII files) for a malformed header, unknown
    property types, truncated bodies, rows with too few values, missing x/y/z, NaN or infinite
    positions, face indices out of range, and for files without any vertex.
    """
    path = os.fspath(path)
    data = read_file_bytes(path)
    order, elements, body, first_body_line, comments = _parse_header(path, data)
    values: dict[str, dict] = {}
    lines: dict[str, np.ndarray] = {}
    if order is None:
        text_lines = data[body:].decode("latin-1").split("\n")
        parsed = _read_ascii_body(path, text_lines, first_body_line, elements)
        for name, (vals, linenos) in parsed.items():
            values[name] = vals
            lines[name] = linenos
    else:
        offset = body
        for el in elements:
            vals, offset = _read_binary_element(path, data, offset, el, order)
            values[el.name] = vals
        if offset < len(data) and data[offset:].strip(b"\x00\r\n \t"):
            io_warn(path, f"{len(data) - offset} bytes after the last element were ignored")
    vertex_el = next((el for el in elements if el.name == "vertex"), None)
    if vertex_el is None or vertex_el.count == 0:
        require_vertices(path, 0)
    vv = values["vertex"]
    missing = [c for c in "xyz" if c not in vv or isinstance(vv[c], tuple)]
    if missing:
        raise FileFormatError(path, f"the vertex element has no {'/'.join(missing)} property",
                              line=vertex_el.line)
    verts = np.stack([vv[c].astype(np.float64) for c in "xyz"], axis=1)
    check_finite(path, verts, "vertex", lines.get("vertex"))
    normals = None
    if all(n in vv and not isinstance(vv[n], tuple) for n in ("nx", "ny", "nz")):
        normals = np.stack([vv[n].astype(np.float64) for n in ("nx", "ny", "nz")], axis=1)
    colors = _colors(vv, _COLOR_NAMES)

    faces = np.zeros((0, 3), np.int64)
    face_colors = None
    face_el = next((el for el in elements if el.name == "face"), None)
    if face_el is not None and face_el.count > 0:
        fv = values["face"]
        lst = None
        for name in ("vertex_indices", "vertex_index"):
            if name in fv and isinstance(fv[name], tuple):
                lst = fv[name]
                break
        if lst is None:
            lst = next((v for p, v in ((p, fv[p.name]) for p in face_el.properties)
                        if isinstance(v, tuple) and np.dtype(p.dtype).kind in "iu"), None)
        if lst is None:
            raise FileFormatError(path, "the face element has no vertex_indices list",
                                  line=face_el.line)
        counts, flat = lst
        keep = counts >= 3
        if not keep.all():
            io_warn(path, f"{int((~keep).sum())} face(s) with fewer than 3 corners skipped")
        if not keep.all():
            mask = np.repeat(keep, counts)
            flat = flat[mask]
            counts = counts[keep]
            rows = np.nonzero(keep)[0]
        else:
            rows = np.arange(counts.size)
        faces, source = fan_triangulate(counts, flat.astype(np.int64))
        src_rows = rows[source]
        face_lines = lines["face"][src_rows] if "face" in lines else None
        check_index_range(path, faces, verts.shape[0], "vertex", face_lines)
        fc = _colors(fv, _COLOR_NAMES)
        if fc is not None:
            face_colors = fc[src_rows]
    strip_el = next((el for el in elements if el.name == "tristrips"), None)
    if strip_el is not None and strip_el.count > 0:
        sv = values["tristrips"]
        lst = next((v for v in sv.values() if isinstance(v, tuple)), None)
        if lst is not None:
            extra, src = _strips_to_faces(lst[0], lst[1].astype(np.int64))
            extra_lines = lines["tristrips"][src] if "tristrips" in lines else None
            check_index_range(path, extra, verts.shape[0], "vertex", extra_lines)
            faces = np.concatenate([faces, extra])
            if face_colors is not None:
                face_colors = np.concatenate([face_colors, np.ones((extra.shape[0], 3))])
    return PlyData(verts=verts, faces=faces, normals=normals, colors=colors,
                   face_colors=face_colors, comments=comments)


def ply_has_faces(path: str | os.PathLike) -> bool:
    """Whether a PLY header declares a non-empty face (or tristrips) element."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            head = b""
            while b"end_header" not in head:
                chunk = handle.read(65536)
                if not chunk:
                    break
                head += chunk
    except OSError as exc:
        raise FileFormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    _, elements, _, _, _ = _parse_header(path, head)
    return any(el.name in ("face", "tristrips") and el.count > 0 for el in elements)


def load_ply(f: str | os.PathLike, *, path_manager=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Loads the vertices and triangles of a PLY file.

    Args:
        f: path of the .ply file (ASCII or binary of either byte order).
    Returns:
        verts: (V, 3) float32, in file order.
        faces: (F, 3) int64 (n-gons fan-triangulated); (0, 3) for a point cloud.

    Raises FileFormatError (see :func:`read_ply`).
    """
    ply = read_ply(f)
    return tensor(ply.verts, torch.float32, "cpu"), tensor(ply.faces, torch.int64, "cpu")


def save_ply(
    f: str | os.PathLike,
    verts,
    faces=None,
    verts_normals=None,
    verts_colors=None,
    ascii: bool = False,
    big_endian: bool = False,
    decimal_places: int | None = None,
    path_manager=None,
    *,
    colors=None,
) -> None:
    """Writes a mesh or point cloud to a PLY file, atomically.

    Args:
        f: path of the .ply file.
        verts: (V, 3) float positions (written as float32).
        faces: (F, 3) int indices or None for a point cloud (written as a ``uchar int``
            ``vertex_indices`` list).
        verts_normals: (V, 3) float normals (``nx ny nz``) or None.
        verts_colors (alias colors): (V, 3) float colours in [0, 1], written as uchar
            ``red green blue`` (rounded to 1/255).
        ascii: write the ASCII format; otherwise binary.
        big_endian: binary byte order (ignored for ASCII).
        decimal_places: ASCII digits after the point (default: float32-exact).

    Raises InputError for bad shapes, indices out of range or NaN/infinite values.
    """
    fn = "save_ply"
    v = as_float_array(fn, "verts", verts, 3).astype(np.float32)
    nv = v.shape[0]
    fc = None if faces is None else as_index_array(fn, "faces", faces, nv).astype(np.int32)
    nrm = None
    if verts_normals is not None:
        nrm = as_float_array(fn, "verts_normals", verts_normals, 3).astype(np.float32)
        if nrm.shape[0] != nv:
            raise InputError(f"{fn}: verts_normals must have {nv} rows, got {nrm.shape[0]}")
    if verts_colors is None:
        verts_colors = colors
    col = None
    if verts_colors is not None:
        c = as_float_array(fn, "verts_colors", verts_colors, (3, 4))[:, :3]
        if c.shape[0] != nv:
            raise InputError(f"{fn}: verts_colors must have {nv} rows, got {c.shape[0]}")
        col = np.clip(np.rint(c * 255.0), 0, 255).astype(np.uint8)

    fmt = "ascii" if ascii else ("binary_big_endian" if big_endian else "binary_little_endian")
    header = ["ply", f"format {fmt} 1.0", "comment written by r3d", f"element vertex {nv}",
              "property float x", "property float y", "property float z"]
    if nrm is not None:
        header += ["property float nx", "property float ny", "property float nz"]
    if col is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
    if fc is not None:
        header += [f"element face {fc.shape[0]}", "property list uchar int vertex_indices"]
    header.append("end_header")
    head = ("\n".join(header) + "\n").encode("ascii")

    with atomic_open(f, "wb") as handle:
        handle.write(head)
        if ascii:
            floats = [v] + ([nrm] if nrm is not None else [])
            rows = format_floats(np.concatenate(floats, axis=1).astype(np.float64),
                                 decimal_places)
            if col is not None:
                rows = [r + " " + " ".join(map(str, c)) for r, c in zip(rows, col.tolist())]
            text = "".join(r + "\n" for r in rows)
            if fc is not None:
                text += "".join(f"3 {a} {b} {c}\n" for a, b, c in fc.tolist())
            handle.write(text.encode("ascii"))
        else:
            bo = ">" if big_endian else "<"
            fields = [("x", bo + "f4"), ("y", bo + "f4"), ("z", bo + "f4")]
            if nrm is not None:
                fields += [("nx", bo + "f4"), ("ny", bo + "f4"), ("nz", bo + "f4")]
            if col is not None:
                fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
            body = np.empty(nv, dtype=np.dtype(fields))
            body["x"], body["y"], body["z"] = v[:, 0], v[:, 1], v[:, 2]
            if nrm is not None:
                body["nx"], body["ny"], body["nz"] = nrm[:, 0], nrm[:, 1], nrm[:, 2]
            if col is not None:
                body["red"], body["green"], body["blue"] = col[:, 0], col[:, 1], col[:, 2]
            handle.write(body.tobytes())
            if fc is not None:
                fdt = np.dtype([("n", "u1"), ("v", bo + "i4", (3,))])
                fbody = np.empty(fc.shape[0], dtype=fdt)
                fbody["n"] = 3
                fbody["v"] = fc
                handle.write(fbody.tobytes())
