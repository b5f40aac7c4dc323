"""Stanford PLY: a parser for ASCII and binary (little / big endian) files, and a writer.

The parser reads every element the header declares, in order, with any scalar type and any
list property, so unknown elements and properties are skipped correctly. Binary bodies are
read with numpy structured dtypes (a fast path for lists of constant length, a row walker
otherwise). ASCII bodies are read row by row: one element instance per line, extra trailing
columns ignored. The vertex order and count of the file are kept.

Reading goes in stages:

1. header: :func:`_parse_header` splits off the header and turns its lines into a
   :class:`_Header` (format, elements with their property layout, comments);
2. body: :func:`_read_body` reads every element's values, either from ASCII lines
   (:func:`_read_ascii_body`) or binary records (:func:`_read_binary_body`), as
   ``{element: {property: values}}`` where a scalar property is a (count,) array and a list
   property a ``(lengths (count,), flat values)`` pair;
3. mapping: :func:`_vertex_arrays`, :func:`_polygon_faces` and :func:`_append_strip_faces`
   turn the element values into the positions, normals, colours and triangles of
   :class:`PlyData`.

Writing (:func:`save_ply`) checks the arguments, builds the header from the vertex property
groups and writes an ASCII or a binary body.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np
import torch

from r3d.errors import FileFormatError
from r3d.io.mesh_arrays import distinct_corners, per_vertex_floats
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    check_finite,
    check_index_range,
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

__all__ = ["PlyData", "load_ply", "read_ply", "save_ply"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}
# struct codes of the numpy type codes, for the binary row walker
_STRUCT_CODES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "f4": "f",
                 "f8": "d"}
_COLOR_NAMES = (("red", "green", "blue"), ("r", "g", "b"),
                ("diffuse_red", "diffuse_green", "diffuse_blue"))
_NORMAL_NAMES = ("nx", "ny", "nz")
# per-vertex texture coordinates: PyTorch3D's names first, then the other common ones
_UV_NAMES = (("texture_u", "texture_v"), ("u", "v"), ("s", "t"))
_FACE_LIST_NAMES = ("vertex_indices", "vertex_index")


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
class _Header:
    """What a PLY header declares.

    Attributes:
        body: byte offset of the body (just after the ``end_header`` line).
        first_body_line: line number of the body's first line.
        order: byte order of a binary body ("<" or ">"), None for ASCII.
        has_format: whether a ``format`` line was seen.
        elements: the declared elements, in file order.
        comments: the ``comment`` / ``obj_info`` texts.
    """

    body: int
    first_body_line: int
    order: str | None = None
    has_format: bool = False
    elements: list[_Element] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


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
        verts_uvs: (V, 2) float64 texture coordinates or None (``texture_u texture_v``,
            ``u v`` or ``s t``).
        comments: the header's comment lines.
    """

    verts: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None
    face_colors: np.ndarray | None = None
    verts_uvs: np.ndarray | None = None
    comments: list[str] = field(default_factory=list)

    def texture_file(self) -> str | None:
        """The image named by the last ``comment TextureFile <name>`` line (the name is its
        last word, as PyTorch3D reads it), or None."""
        named = [c.split(" ")[-1] for c in self.comments if "TextureFile" in c]
        return named[-1] if named else None


# -- stage 1: header ---------------------------------------------------------------------------


def _split_header(path: str, data: bytes) -> tuple[list[str], int]:
    """The header's text lines (up to ``end_header``, carriage returns removed) and the byte
    offset of the body. FileFormatError if the file does not start with ``ply`` or has no
    ``end_header``."""
    if not data.startswith(b"ply"):
        raise FileFormatError(path, "not a PLY file (it does not start with 'ply')", line=1)
    end = data.find(b"end_header")
    if end < 0:
        raise FileFormatError(path, "the PLY header has no 'end_header' line")
    nl = data.find(b"\n", end)
    body = len(data) if nl < 0 else nl + 1
    return data[:end].decode("latin-1").replace("\r", "").split("\n"), body


def _property_type(path: str, name: str, lineno: int) -> str:
    """The numpy type code (e.g. "f4") of a PLY type name; FileFormatError if unknown."""
    if name not in _TYPES:
        raise FileFormatError(path, f"unknown PLY property type {name!r}", line=lineno)
    return _TYPES[name]


def _format_line(path: str, header: _Header, raw: str, parts: list[str], lineno: int) -> None:
    """``format <ascii|binary_little_endian|binary_big_endian> <version>``: sets the order."""
    if len(parts) < 2 or parts[1] not in _FORMATS:
        raise FileFormatError(
            path, f"unknown PLY format {' '.join(parts[1:])!r} (expected ascii, "
                  f"binary_little_endian or binary_big_endian)", line=lineno)
    header.order = _FORMATS[parts[1]]
    header.has_format = True


def _comment_line(path: str, header: _Header, raw: str, parts: list[str], lineno: int) -> None:
    """``comment ...`` / ``obj_info ...``: keeps the text after the keyword."""
    header.comments.append(raw.strip()[len(parts[0]):].strip())


def _element_line(path: str, header: _Header, raw: str, parts: list[str], lineno: int) -> None:
    """``element <name> <count>``: starts a new element."""
    if len(parts) != 3:
        raise FileFormatError(path, "expected 'element <name> <count>'", line=lineno)
    try:
        count = int(parts[2])
    except ValueError:
        raise FileFormatError(path, f"element count {parts[2]!r} is not an integer",
                              line=lineno) from None
    if count < 0:
        raise FileFormatError(path, f"negative element count {count}", line=lineno)
    header.elements.append(_Element(parts[1], count, lineno))


def _property_line(path: str, header: _Header, raw: str, parts: list[str], lineno: int) -> None:
    """``property <type> <name>`` or ``property list <count type> <item type> <name>``: adds a
    property to the last element."""
    if not header.elements:
        raise FileFormatError(path, "property before any element", line=lineno)
    if len(parts) >= 2 and parts[1] == "list":
        prop = _list_property(path, parts, lineno)
    else:
        if len(parts) != 3:
            raise FileFormatError(path, "expected 'property <type> <name>'", line=lineno)
        prop = _Property(parts[2], _property_type(path, parts[1], lineno))
    header.elements[-1].properties.append(prop)


def _list_property(path: str, parts: list[str], lineno: int) -> _Property:
    """The list property of a ``property list <count type> <item type> <name>`` line."""
    if len(parts) != 5:
        raise FileFormatError(
            path, "expected 'property list <count type> <item type> <name>'", line=lineno)
    count_dtype = _property_type(path, parts[2], lineno)
    dtype = _property_type(path, parts[3], lineno)
    if count_dtype[0] == "f":
        raise FileFormatError(path, f"list length type {parts[2]!r} is not an integer type",
                              line=lineno)
    return _Property(parts[4], dtype, count_dtype)


_HEADER_LINES = {
    "format": _format_line,
    "comment": _comment_line,
    "obj_info": _comment_line,
    "element": _element_line,
    "property": _property_line,
}


def _parse_header(path: str, data: bytes) -> _Header:
    """Parses the header at the start of ``data`` (the file's bytes, or its first bytes).

    Returns the :class:`_Header`; FileFormatError (with the line) for a malformed header.
    """
    lines, body = _split_header(path, data)
    if lines[0].strip() != "ply":
        raise FileFormatError(path, "the first line must be 'ply'", line=1)
    header = _Header(body=body, first_body_line=len(lines) + 1)
    for lineno, raw in enumerate(lines[1:], start=2):
        parts = raw.split()
        if not parts:
            continue
        handler = _HEADER_LINES.get(parts[0])
        if handler is None:
            raise FileFormatError(path, f"unknown PLY header line {raw.strip()!r}", line=lineno)
        handler(path, header, raw, parts, lineno)
    if not header.has_format:
        raise FileFormatError(path, "the PLY header has no 'format' line")
    return header


# -- stage 2: body -----------------------------------------------------------------------------


def _empty_values(el: _Element) -> dict:
    """The values of an element without rows: (0,) arrays, and ((0,), (0,)) list pairs."""
    out = {}
    for p in el.properties:
        empty = np.zeros((0,), p.dtype)
        out[p.name] = (np.zeros((0,), np.int64), empty) if p.count_dtype else empty
    return out


class _RowValues:
    """Per-property accumulators of the row-by-row readers (ASCII rows, binary walker)."""

    def __init__(self, el: _Element):
        self.el = el
        self.scalars: dict[str, list] = {
            p.name: [] for p in el.properties if p.count_dtype is None}
        self.lists: dict[str, tuple[list, list]] = {
            p.name: ([], []) for p in el.properties if p.count_dtype is not None}

    def add_list(self, name: str, values) -> None:
        """Appends one row's list (its length and its items)."""
        counts, flat = self.lists[name]
        counts.append(len(values))
        flat.extend(values)

    def arrays(self) -> dict:
        """{property: (rows,) array of its type, or (lengths (rows,) int64, flat values)}."""
        out: dict = {}
        for p in self.el.properties:
            if p.count_dtype is None:
                out[p.name] = np.asarray(self.scalars[p.name], np.float64).astype(p.dtype)
            else:
                counts, flat = self.lists[p.name]
                out[p.name] = (np.asarray(counts, np.int64),
                               np.asarray(flat, dtype=np.float64).astype(p.dtype))
        return out


def _read_body(path: str, data: bytes, header: _Header) -> tuple[dict, dict]:
    """Reads the values of every element of the body.

    Returns:
        values: {element name: {property name: values}}; scalar properties are (count,)
            arrays, list properties (lengths (count,) int64, flat values) pairs.
        lines: {element name: (count,) line number of each row}; ASCII files only.
    """
    if header.order is None:
        text_lines = data[header.body:].decode("latin-1").split("\n")
        return _read_ascii_body(path, text_lines, header.first_body_line, header.elements)
    return _read_binary_body(path, data, header), {}


# binary bodies


def _read_binary_body(path: str, data: bytes, header: _Header) -> dict:
    """{element name: {property: values}} of a binary body; warns about trailing bytes."""
    values: dict[str, dict] = {}
    offset = header.body
    for el in header.elements:
        values[el.name], offset = _read_binary_element(path, data, offset, el, header.order)
    if offset < len(data) and data[offset:].strip(b"\x00\r\n \t"):
        io_warn(path, f"{len(data) - offset} bytes after the last element were ignored")
    return values


def _read_binary_element(path, data: bytes, offset: int, el: _Element, order: str):
    """Reads one element; returns ({property: values}, new offset).

    Scalars: (count,) arrays. Lists: (counts (count,), flat values) pairs.
    """
    if el.count == 0:
        return _empty_values(el), offset
    if not any(p.count_dtype for p in el.properties):
        return _binary_scalars(path, data, offset, el, order)
    fast = _binary_lists_constant(data, offset, el, order)
    if fast is not None:
        return fast
    return _binary_rows(path, data, offset, el, order)


def _binary_scalars(path, data: bytes, offset: int, el: _Element, order: str):
    """An element without list properties, as one structured array; (values, new offset)."""
    props = el.properties
    dt = np.dtype([(f"p{i}", order + p.dtype) for i, p in enumerate(props)])
    need = dt.itemsize * el.count
    if offset + need > len(data):
        raise FileFormatError(
            path, f"the binary body is truncated: element '{el.name}' needs {need} bytes "
                  f"at offset {offset}, the file has {len(data) - offset}")
    arr = np.frombuffer(data, dtype=dt, count=el.count, offset=offset)
    return {p.name: arr[f"p{i}"] for i, p in enumerate(props)}, offset + need


def _first_row_layout(data: bytes, offset: int, el: _Element, order: str):
    """The structured dtype fields of the element's first row and the length of each of its
    lists, or None if the data ends inside a length prefix."""
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
    return fields, lengths


def _binary_lists_constant(data: bytes, offset: int, el: _Element, order: str):
    """Fast path: every list has the length it has in the first row. None if not so;
    otherwise ({property: values}, new offset)."""
    layout = _first_row_layout(data, offset, el, order)
    if layout is None:
        return None
    fields, lengths = layout
    dt = np.dtype(fields)
    if offset + dt.itemsize * el.count > len(data):
        return None
    arr = np.frombuffer(data, dtype=dt, count=el.count, offset=offset)
    out = {}
    lengths_left = iter(lengths)
    for i, p in enumerate(el.properties):
        if p.count_dtype is None:
            out[p.name] = arr[f"p{i}"]
            continue
        n = next(lengths_left)
        if not np.all(arr[f"c{i}"] == n):
            return None
        values = arr[f"p{i}"].reshape(-1) if n > 0 else np.zeros((0,), p.dtype)
        out[p.name] = (np.full(el.count, n, dtype=np.int64), values)
    return out, offset + dt.itemsize * el.count


def _binary_plan(el: _Element, order: str) -> list[tuple[str, struct.Struct, str | None]]:
    """Per property: (name, struct of the scalar or list length, list item code or None)."""
    bo = "<" if order == "<" else ">"
    plan = []
    for p in el.properties:
        if p.count_dtype is None:
            plan.append((p.name, struct.Struct(bo + _STRUCT_CODES[p.dtype]), None))
        else:
            plan.append((p.name, struct.Struct(bo + _STRUCT_CODES[p.count_dtype]),
                         _STRUCT_CODES[p.dtype]))
    return plan


def _binary_row(path, data: bytes, pos: int, el: _Element, order: str, plan,
                rows: _RowValues) -> int:
    """Reads one row at ``pos`` into ``rows``; returns the offset after it. Raises
    struct.error when the data ends inside the row."""
    bo = "<" if order == "<" else ">"
    for name, st, item in plan:
        (value,) = st.unpack_from(data, pos)
        pos += st.size
        if item is None:
            rows.scalars[name].append(value)
            continue
        if value < 0:
            raise FileFormatError(path, f"negative list length in element '{el.name}'")
        itemsize = struct.calcsize(bo + item)
        if pos + value * itemsize > len(data):
            raise struct.error("truncated")
        rows.add_list(name, struct.unpack_from(f"{bo}{value}{item}", data, pos))
        pos += value * itemsize
    return pos


def _binary_rows(path, data: bytes, offset: int, el: _Element, order: str):
    """Row-by-row walker for lists whose length varies; ({property: values}, new offset)."""
    plan = _binary_plan(el, order)
    rows = _RowValues(el)
    pos = offset
    try:
        for _ in range(el.count):
            pos = _binary_row(path, data, pos, el, order, plan, rows)
    except struct.error:
        raise FileFormatError(
            path, f"the binary body is truncated inside element '{el.name}'") from None
    return rows.arrays(), pos


# ASCII bodies


def _read_ascii_body(path, text_lines: list[str], first_line: int, elements: list[_Element]):
    """Reads every element from the body's lines.

    Returns ({element: {property: values}}, {element: (count,) row line numbers}).
    """
    values: dict[str, dict] = {}
    lines: dict[str, np.ndarray] = {}
    i = 0
    for el in elements:
        rows, linenos, i = _ascii_element_rows(path, text_lines, i, first_line, el)
        values[el.name] = _ascii_element(path, el, rows, linenos)
        lines[el.name] = np.asarray(linenos)
    return values, lines


def _ascii_element_rows(path, text_lines: list[str], i: int, first_line: int, el: _Element):
    """The next ``el.count`` non-blank lines from line index ``i``, split into tokens.

    Returns (rows of tokens, their line numbers, index of the next line); FileFormatError if
    the file ends first.
    """
    rows: list[list[str]] = []
    linenos: list[int] = []
    n = len(text_lines)
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
    return rows, linenos, i


def _ascii_element(path, el: _Element, rows: list[list[str]], linenos: list[int]) -> dict:
    """{property: values} of an element's token rows (vectorised when the rows allow it)."""
    if not rows:
        return _empty_values(el)
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
    """Vectorised read of an (rows, columns) float64 table when every list has one length;
    None if the columns do not fit that."""
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
        if not np.isfinite(counts[0]):
            return None
        n = int(counts[0])
        if n < 0 or not np.all(counts == n) or col + 1 + n > table.shape[1]:
            return None
        values = table[:, col + 1 : col + 1 + n].astype(p.dtype).reshape(-1)
        out[p.name] = (np.full(table.shape[0], n, np.int64), values)
        col += 1 + n
    return out


def _ascii_row(path, el: _Element, tokens: list[str], lineno: int, rows: _RowValues) -> None:
    """Reads one row's tokens into ``rows``; FileFormatError if the row is too short or a
    list too long. Raises a plain ValueError for a token that is not a number."""
    col = 0
    for p in el.properties:
        if col >= len(tokens):
            raise FileFormatError(
                path, f"'{el.name}' row has {len(tokens)} values, too few for its "
                      f"properties (missing '{p.name}')", line=lineno)
        if p.count_dtype is None:
            rows.scalars[p.name].append(float(tokens[col]))
            col += 1
            continue
        count = int(float(tokens[col]))
        if count < 0 or col + 1 + count > len(tokens):
            raise FileFormatError(
                path, f"list '{p.name}' says {count} values but the row has "
                      f"{len(tokens) - col - 1} left", line=lineno)
        rows.add_list(p.name, [float(t) for t in tokens[col + 1 : col + 1 + count]])
        col += 1 + count


def _ascii_rows(path, el: _Element, rows: list[list[str]], linenos: list[int]) -> dict:
    """Row-by-row read of token rows whose lists vary in length; {property: values}."""
    values = _RowValues(el)
    for tokens, lineno in zip(rows, linenos):
        try:
            _ascii_row(path, el, tokens, lineno, values)
        except FileFormatError:
            raise
        except (ValueError, OverflowError):  # OverflowError: a list count of inf
            raise FileFormatError(path, f"'{el.name}' row holds a value that is not a number: "
                                        f"{' '.join(tokens)!r}", line=lineno) from None
    return values.arrays()


# -- stage 3: elements to vertices and faces ------------------------------------------------


def _element(elements: list[_Element], name: str) -> _Element | None:
    """The first element called ``name``, or None."""
    return next((el for el in elements if el.name == name), None)


def _scalar_columns(values: dict, names) -> np.ndarray | None:
    """(count, len(names)) float64 stack of the scalar properties ``names``, or None unless
    all of them are there."""
    if all(n in values and not isinstance(values[n], tuple) for n in names):
        return np.stack([values[n].astype(np.float64) for n in names], axis=1)
    return None


def _color_scale(dtype: np.dtype) -> float:
    """The value of full intensity: the maximum of an integer type, 1 for floats."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max)
    return 1.0


def _first_columns(values: dict, candidates) -> tuple[tuple[str, ...], np.ndarray] | None:
    """The first of the ``candidates`` name tuples that the element has in full, with the
    (count, k) float64 stack of those properties; None if it has none of them."""
    for names in candidates:
        cols = _scalar_columns(values, names)
        if cols is not None:
            return names, cols
    return None


def _colors(values: dict) -> np.ndarray | None:
    """(count, 3) float64 colours in [0, 1] of an element's values (the first of the known
    colour property triples it has), or None."""
    found = _first_columns(values, _COLOR_NAMES)
    if found is None:
        return None
    names, cols = found
    return cols / _color_scale(values[names[0]].dtype)


def _vertex_arrays(path: str, elements: list[_Element], values: dict, lines: dict):
    """The vertex element as arrays.

    Returns (verts (V, 3) float64, normals (V, 3) float64 or None, colors (V, 3) float64 in
    [0, 1] or None, uvs (V, 2) float64 or None). FileFormatError for a file without vertices,
    without x/y/z, or with positions, normals or UVs that are not finite.
    """
    vertex_el = _element(elements, "vertex")
    if vertex_el is None or vertex_el.count == 0:
        require_vertices(path, 0)
    vv = values["vertex"]
    missing = [c for c in "xyz" if c not in vv or isinstance(vv[c], tuple)]
    if missing:
        raise FileFormatError(path, f"the vertex element has no {'/'.join(missing)} property",
                              line=vertex_el.line)
    verts = _scalar_columns(vv, "xyz")
    normals = _scalar_columns(vv, _NORMAL_NAMES)
    uvs = _first_columns(vv, _UV_NAMES)
    uvs = None if uvs is None else uvs[1]
    for what, arr in (("vertex", verts), ("normal of vertex", normals),
                      ("texture coordinate of vertex", uvs)):
        if arr is not None:
            check_finite(path, arr, what, lines.get("vertex"))
    return verts, normals, _colors(vv), uvs


def _face_index_list(path: str, face_el: _Element, fv: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lengths (P,), flat corners) of the face element's corner list: ``vertex_indices``,
    ``vertex_index``, or else its first integer list. FileFormatError if it has none."""
    for name in _FACE_LIST_NAMES:
        if name in fv and isinstance(fv[name], tuple):
            return fv[name]
    lst = next((v for p, v in ((p, fv[p.name]) for p in face_el.properties)
                if isinstance(v, tuple) and np.dtype(p.dtype).kind in "iu"), None)
    if lst is None:
        raise FileFormatError(path, "the face element has no vertex_indices list",
                              line=face_el.line)
    return lst


def _drop_short_polygons(path: str, counts: np.ndarray, flat: np.ndarray):
    """Skips (with a warning) polygons of fewer than 3 corners.

    Returns (counts (P',), flat corners, rows (P',) index of each kept polygon in the file).
    """
    keep = counts >= 3
    if keep.all():
        return counts, flat, np.arange(counts.size)
    io_warn(path, f"{int((~keep).sum())} face(s) with fewer than 3 corners skipped")
    return counts[keep], flat[np.repeat(keep, counts)], np.nonzero(keep)[0]


def _polygon_faces(path: str, elements: list[_Element], values: dict, lines: dict,
                   num_verts: int, strict_colors: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The face element's polygons, fan-triangulated.

    Returns (faces (F, 3) int64, face_colors (F, 3) float64 or None); FileFormatError for
    indices outside [0, num_verts); non-finite colours as :func:`finite_colors` says.
    """
    face_el = _element(elements, "face")
    if face_el is None or face_el.count == 0:
        return np.zeros((0, 3), np.int64), None
    fv = values["face"]
    counts, flat = _face_index_list(path, face_el, fv)
    counts, flat, rows = _drop_short_polygons(path, counts, flat)
    faces, source = fan_triangulate(counts, flat.astype(np.int64))
    src_rows = rows[source]
    face_lines = lines["face"][src_rows] if "face" in lines else None
    check_index_range(path, faces, num_verts, "vertex", face_lines)
    fc = finite_colors(path, _colors(fv), "colour of face", strict_colors, lines.get("face"))
    return faces, None if fc is None else fc[src_rows]


def _strip_corners(strip: list[int]) -> list[tuple[int, int, int]]:
    """The triangles of one strip, alternate ones flipped to keep the winding."""
    tris = []
    for k in range(len(strip) - 2):
        a, b, d = strip[k], strip[k + 1], strip[k + 2]
        tris.append((a, b, d) if k % 2 == 0 else (b, a, d))
    return tris


def _strips_to_faces(counts: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangle strips (-1 restarts a strip) to triangles without repeated corners.

    Args:
        counts: (S,) entries per tristrips row; flat: their concatenated entries.
    Returns:
        faces (F, 3) int64 and source (F,) int64 row each triangle came from.
    """
    faces, source = [], []
    start = 0
    for row, c in enumerate(counts.tolist()):
        strip: list[int] = []
        for v in flat[start : start + c].tolist() + [-1]:
            if v >= 0:
                strip.append(v)
                continue
            tris = _strip_corners(strip)
            faces.extend(tris)
            source.extend([row] * len(tris))
            strip = []
        start += c
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    keep = distinct_corners(faces)
    return faces[keep], np.asarray(source, np.int64)[keep]


def _append_strip_faces(path: str, elements: list[_Element], values: dict, lines: dict,
                        num_verts: int, faces: np.ndarray, face_colors: np.ndarray | None):
    """Appends the triangles of a ``tristrips`` element (if any) to ``faces`` (white
    ``face_colors`` for them). Returns the new (faces, face_colors)."""
    strip_el = _element(elements, "tristrips")
    if strip_el is None or strip_el.count == 0:
        return faces, face_colors
    sv = values["tristrips"]
    lst = next((v for v in sv.values() if isinstance(v, tuple)), None)
    if lst is None:
        return faces, face_colors
    extra, src = _strips_to_faces(lst[0], lst[1].astype(np.int64))
    extra_lines = lines["tristrips"][src] if "tristrips" in lines else None
    check_index_range(path, extra, num_verts, "vertex", extra_lines)
    faces = np.concatenate([faces, extra])
    if face_colors is not None:
        face_colors = np.concatenate([face_colors, np.ones((extra.shape[0], 3))])
    return faces, face_colors


def read_ply(f, strict_colors: bool = False) -> PlyData:
    """Parses a PLY file into numpy arrays (see :class:`PlyData`).

    Args:
        f: a path, or a file object read from its current position: binary (``io.BytesIO``,
            ``open(path, "rb")``) for any PLY, or text (``io.StringIO``) for an ASCII one.
        strict_colors: raise for colours holding NaN or infinity (see below).

    Raises FileFormatError (with the line for ASCII files) for a malformed header, unknown
    property types, truncated bodies, rows with too few values, missing x/y/z, NaN or infinite
    positions (normals, UVs), face indices out of range, for files without any vertex, and for
    a binary PLY given as a text stream. Vertex or face colours holding NaN or infinity are
    dropped with a warning (None), or raise FileFormatError with ``strict_colors``.
    """
    path, data, text = read_source("load_ply", f)
    header = _parse_header(path, data)
    if text and header.order is not None:
        raise FileFormatError(path, "a binary PLY cannot be read from a text stream: open it "
                                    "in binary mode (open(path, 'rb')) or use io.BytesIO")
    values, lines = _read_body(path, data, header)
    elements = header.elements
    verts, normals, colors, uvs = _vertex_arrays(path, elements, values, lines)
    colors = finite_colors(path, colors, "colour of vertex", strict_colors, lines.get("vertex"))
    nv = verts.shape[0]
    faces, face_colors = _polygon_faces(path, elements, values, lines, nv, strict_colors)
    faces, face_colors = _append_strip_faces(path, elements, values, lines, nv, faces,
                                             face_colors)
    return PlyData(verts=verts, faces=faces, normals=normals, colors=colors,
                   face_colors=face_colors, verts_uvs=uvs, comments=header.comments)


def _read_header_bytes(path: str) -> bytes:
    """The first bytes of a file, up to (at least) its ``end_header``, or all of it."""
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
    return head


def ply_has_faces(path: str | os.PathLike) -> bool:
    """Whether a PLY header declares a non-empty face (or tristrips) element."""
    path = os.fspath(path)
    header = _parse_header(path, _read_header_bytes(path))
    return any(el.name in ("face", "tristrips") and el.count > 0 for el in header.elements)


def load_ply(f, *, path_manager=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Loads the vertices and triangles of a PLY file.

    Args:
        f: path of the .ply file (ASCII or binary of either byte order), or a file object
            (binary, e.g. ``io.BytesIO``; a text stream such as ``io.StringIO`` for ASCII).
        path_manager: accepted for PyTorch3D compatibility; unused.
    Returns:
        verts: (V, 3) float32, in file order.
        faces: (F, 3) int64 (n-gons fan-triangulated); (0, 3) for a point cloud.

    Raises FileFormatError (see :func:`read_ply`).
    """
    ply = read_ply(f)
    return tensor(ply.verts, torch.float32, "cpu"), tensor(ply.faces, torch.int64, "cpu")


# -- writing -----------------------------------------------------------------------------------


def _save_arrays(fn: str, verts, faces, verts_normals, verts_colors, colors_as_uint8: bool):
    """Checks the arguments of :func:`save_ply`.

    Returns (verts (V, 3) float32, faces (F, 3) int32 or None, normals (V, 3) float32 or None,
    colours (V, 3): float32 as given, or uint8 (``colors_as_uint8``), or None); InputError for
    bad shapes, indices or values. Empty normals or colours (``torch.tensor([])``) are None.
    """
    v = as_float_array(fn, "verts", verts, 3).astype(np.float32)
    nv = v.shape[0]
    fc = None if faces is None else as_index_array(fn, "faces", faces, nv).astype(np.int32)
    nrm = None
    if not is_empty(verts_normals):
        nrm = per_vertex_floats(fn, "verts_normals", verts_normals, 3, nv).astype(np.float32)
    col = None
    if not is_empty(verts_colors):
        c = per_vertex_floats(fn, "verts_colors", verts_colors, (3, 4), nv)[:, :3]
        col = (np.clip(np.rint(c * 255.0), 0, 255).astype(np.uint8) if colors_as_uint8
               else c.astype(np.float32))
    return v, fc, nrm, col


def _vertex_groups(v: np.ndarray, nrm, col) -> list[tuple[tuple[str, str, str], str, np.ndarray]]:
    """The vertex property groups to write, in order: (names, PLY type, (V, 3) array) for
    the positions, then the normals and colours that are given (colours as ``uchar`` or
    ``float`` by their dtype)."""
    groups = [(("x", "y", "z"), "float", v)]
    if nrm is not None:
        groups.append((_NORMAL_NAMES, "float", nrm))
    if col is not None:
        groups.append((_COLOR_NAMES[0], "uchar" if col.dtype == np.uint8 else "float", col))
    return groups


def _header_bytes(fmt: str, groups, num_verts: int, fc: np.ndarray | None) -> bytes:
    """The header of a written file: format, vertex element with ``groups``, face element."""
    header = ["ply", f"format {fmt} 1.0", "comment written by r3d", f"element vertex {num_verts}"]
    for names, ply_type, _ in groups:
        header += [f"property {ply_type} {name}" for name in names]
    if fc is not None:
        header += [f"element face {fc.shape[0]}", "property list uchar int vertex_indices"]
    header.append("end_header")
    return ("\n".join(header) + "\n").encode("ascii")


def _ascii_body_bytes(groups, fc, decimal_places: int | None) -> bytes:
    """ASCII body: one line per vertex (the float groups, then ``uchar`` colours as
    integers), then ``3 a b c`` per face."""
    floats = [arr for _, ply_type, arr in groups if ply_type == "float"]
    rows = format_floats(np.concatenate(floats, axis=1).astype(np.float64), decimal_places)
    for _, ply_type, arr in groups:
        if ply_type == "uchar":
            rows = [r + " " + " ".join(map(str, c)) for r, c in zip(rows, arr.tolist())]
    text = "".join(r + "\n" for r in rows)
    if fc is not None:
        text += "".join(f"3 {a} {b} {c}\n" for a, b, c in fc.tolist())
    return text.encode("ascii")


def _binary_vertex_bytes(groups, num_verts: int, bo: str) -> bytes:
    """Binary vertex records of the property ``groups`` in byte order ``bo``."""
    codes = {"float": "f4", "uchar": "u1"}
    fields = [(name, bo + codes[ply_type]) for names, ply_type, _ in groups for name in names]
    body = np.empty(num_verts, dtype=np.dtype(fields))
    for names, _, arr in groups:
        for k, name in enumerate(names):
            body[name] = arr[:, k]
    return body.tobytes()


def _binary_face_bytes(fc: np.ndarray, bo: str) -> bytes:
    """Binary face records: a uchar 3 and three int corners per (F, 3) face."""
    fdt = np.dtype([("n", "u1"), ("v", bo + "i4", (3,))])
    fbody = np.empty(fc.shape[0], dtype=fdt)
    fbody["n"] = 3
    fbody["v"] = fc
    return fbody.tobytes()


def save_ply(
    f,
    verts,
    faces=None,
    verts_normals=None,
    ascii: bool = False,
    decimal_places: int | None = None,
    path_manager=None,
    *,
    verts_colors=None,
    colors=None,
    colors_as_uint8: bool = False,
    big_endian: bool = False,
) -> None:
    """Writes a mesh or point cloud to a PLY file (PyTorch3D's signature, and colours).

    Args:
        f: path of the .ply file, written atomically; or a file object, written directly at
            its position: binary (``io.BytesIO``) for any PLY, or text for ``ascii=True``.
        verts: (V, 3) float positions (written as float32).
        faces: (F, 3) int indices (float tensors of whole numbers are cast), or None for a
            point cloud. Written as a ``uchar int`` ``vertex_indices`` list; an empty tensor
            (``torch.tensor([])``) writes a face element of 0 faces.
        verts_normals: (V, 3) float normals (``nx ny nz``) or None.
        ascii: write the ASCII format; otherwise binary.
        decimal_places: ASCII digits after the point (default: float32-exact).
        path_manager: accepted for PyTorch3D compatibility; unused.
        verts_colors (alias colors): (V, 3) (or (V, 4), alpha dropped) float colours,
            written as float ``red green blue`` as given (read back exactly), or with
            ``colors_as_uint8=True`` as uchar, rounded to 1/255 (clamped to [0, 1]).
        big_endian: binary byte order (ignored for ASCII).

    An empty normals or colours tensor counts as None. Raises InputError for bad shapes,
    indices out of range or NaN/infinite values (nothing is written then).
    """
    if verts_colors is None:
        verts_colors = colors
    v, fc, nrm, col = _save_arrays("save_ply", verts, faces, verts_normals, verts_colors,
                                   colors_as_uint8)
    groups = _vertex_groups(v, nrm, col)
    fmt = "ascii" if ascii else ("binary_big_endian" if big_endian else "binary_little_endian")
    out = [_header_bytes(fmt, groups, v.shape[0], fc)]
    if ascii:
        out.append(_ascii_body_bytes(groups, fc, decimal_places))
    else:
        bo = ">" if big_endian else "<"
        out.append(_binary_vertex_bytes(groups, v.shape[0], bo))
        if fc is not None:
            out.append(_binary_face_bytes(fc, bo))
    write_output("save_ply", f, b"".join(out), binary=not ascii)
