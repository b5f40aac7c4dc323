"""Helpers shared by the format modules: reading files, validating arrays, building tensors."""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Sequence

import numpy as np
import torch

from r3d.errors import FileFormatError, FileWarning, InputError, MissingFileError, warn
from r3d.io.atomic import atomic_open
from r3d.structures import Meshes, Pointclouds

PathLike = str | os.PathLike


def require_file(path: PathLike) -> str:
    """``path`` as a str when it names an existing file (or a link to one).

    Raises FileNotFoundError when nothing is there and IsADirectoryError for a directory, each
    with ``filename`` set to the path (``str(exc)`` names it too).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
    if not os.path.exists(path):
        raise MissingFileError(path)
    return path


def read_file_bytes(path: PathLike) -> bytes:
    """The whole file as bytes. FileNotFoundError / IsADirectoryError (:func:`require_file`)
    when it is missing or a directory; FileFormatError naming the path if it is unreadable."""
    path = require_file(path)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise FileFormatError(path, f"cannot read: {exc.strerror or exc}") from exc


def is_file_object(f) -> bool:
    """Whether ``f`` is an open file object (it reads or writes) rather than a path."""
    return not isinstance(f, (str, bytes, os.PathLike)) and (
        hasattr(f, "read") or hasattr(f, "write"))


def source_name(f) -> str:
    """What messages call ``f``: a path as given, an open file's ``name``, or ``<StringIO>``
    (the class) for an in-memory file."""
    if not is_file_object(f):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"


def _check_source(fn: str, f) -> None:
    if not is_file_object(f) and not isinstance(f, (str, os.PathLike)):
        raise InputError(f"{fn}: f must be a path or a file object (such as io.BytesIO or "
                         f"io.StringIO), got {type(f).__name__}")


def read_source(fn: str, f) -> tuple[str, bytes, bool]:
    """The whole of a path or file object, as a loader reads it.

    Args:
        fn: the loader, for the error message.
        f: a path, or a file object open for reading (binary or text); a file object is read
            from its current position to its end.
    Returns:
        (name for messages (:func:`source_name`), the bytes (text is encoded as UTF-8),
        whether ``f`` gave text). A path that is missing or a directory raises as
        :func:`read_file_bytes` says; anything else InputError.
    """
    _check_source(fn, f)
    if not is_file_object(f):
        return os.fspath(f), read_file_bytes(f), False
    data = f.read()
    if isinstance(data, str):
        return source_name(f), data.encode("utf-8"), True
    return source_name(f), bytes(data), False


def _is_text_stream(f) -> bool:
    mode = getattr(f, "mode", None)
    return isinstance(f, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode)


def write_output(fn: str, f, data: bytes, binary: bool = False) -> None:
    """Writes a saver's whole output to a path (atomically) or to a file object (directly, at
    its current position; it is not closed).

    Args:
        fn: the saver, for the error message.
        f: a path, or a file object open for writing.
        data: the file's bytes; a text stream is given them decoded as UTF-8.
        binary: whether ``data`` is a binary format; InputError (nothing written) for a text
            stream then.
    """
    _check_source(fn, f)
    if not is_file_object(f):
        with atomic_open(f, "wb") as handle:
            handle.write(data)
        return
    if not _is_text_stream(f):
        f.write(data)
        return
    if binary:
        raise InputError(f"{fn}: a binary file needs a binary file object (io.BytesIO or "
                         f"open(..., 'wb')), got the text stream {source_name(f)}")
    f.write(data.decode("utf-8"))


def decode_text(data: bytes) -> str:
    """UTF-8 text (with a BOM removed); bytes that are not UTF-8 are read as Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


MAX_NESTING = 64  # levels of lists and mappings a JSON or YAML document may nest


def check_nesting(path: PathLike, data, limit: int = MAX_NESTING) -> None:
    """FileFormatError naming ``path`` when the lists and dicts of a parsed document nest more
    than ``limit`` levels deep (no format r3d reads needs that, and code that walks such a
    document recursively would exhaust Python's stack). Each container is visited once, so
    YAML aliases that share one value many times over (or contain it) cost no more than the
    text that wrote them."""
    seen: set[int] = set()
    level, current = 0, [data]
    while current:
        level += 1
        if level > limit:
            raise FileFormatError(path, f"the document nests lists or mappings more than "
                                        f"{limit} levels deep")
        containers = [v for v in current if isinstance(v, (dict, list)) and id(v) not in seen]
        seen.update(id(v) for v in containers)
        current = [child for v in containers
                   for child in (v.values() if isinstance(v, dict) else v)]


def parse_json(path: PathLike, text: str):
    """The JSON document of ``text`` (a file's contents). FileFormatError naming ``path``:
    invalid JSON (with its line) or lists and objects nested too deeply (see
    :func:`check_nesting`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise FileFormatError(path, "not valid JSON here: lists or objects nested too "
                                    "deeply") from None
    check_nesting(path, data)
    return data


def io_warn(path: PathLike, message: str, line: int | None = None) -> None:
    """A :class:`~r3d.errors.FileWarning` (an R3DWarning) naming the file (and line), raised at
    the user's line."""
    warn(FileWarning(path, message, line))


def fan_triangulate(counts: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fan-triangulates polygons given as corner counts and a flat corner list.

    Args:
        counts: (P,) int corners per polygon (each >= 3).
        flat: (sum counts,) int corner indices, polygon after polygon.
    Returns:
        faces: (sum(counts - 2), 3) int64, polygon p's corners (c0, ck, ck+1) for k = 1..n-2.
        source: (sum(counts - 2),) int64 polygon each triangle came from.
    """
    counts = np.asarray(counts, dtype=np.int64)
    flat = np.asarray(flat, dtype=np.int64)
    if counts.size == 0:
        return np.zeros((0, 3), np.int64), np.zeros((0,), np.int64)
    if np.all(counts == 3):
        return flat.reshape(-1, 3), np.arange(counts.size, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ntri = counts - 2
    source = np.repeat(np.arange(counts.size, dtype=np.int64), ntri)
    first = np.concatenate([[0], np.cumsum(ntri)[:-1]])
    k = np.arange(source.size, dtype=np.int64) - first[source] + 1
    base = starts[source]
    faces = np.stack([flat[base], flat[base + k], flat[base + k + 1]], axis=1)
    return faces, source


def parse_numbers(
    path: PathLike, parts: list[str], lineno: int, least: int, what: str
) -> list[float]:
    """The numbers of a text statement's ``parts`` (up to a ``#`` comment); a FileFormatError
    naming ``what`` and the line when one is not a number or there are fewer than ``least``."""
    if "#" in " ".join(parts):
        cut = [i for i, p in enumerate(parts) if p.startswith("#")]
        parts = parts[: cut[0]] if cut else parts
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise FileFormatError(
            path, f"'{what}' expects numbers, got {' '.join(parts)!r}", line=lineno
        ) from None
    if len(values) < least:
        raise FileFormatError(
            path, f"'{what}' needs at least {least} numbers, got {len(values)}", line=lineno
        )
    return values


def non_finite_error(path: PathLike, array: np.ndarray, what: str,
                     lines=None) -> FileFormatError | None:
    """The FileFormatError naming the first row of ``array`` (N, ...) that holds NaN or
    infinity, or a value too large for the float32 tensors r3d makes of it (its values and,
    with ``lines`` (N,), its line), or None when all are finite."""
    if array.size == 0:
        return None
    with np.errstate(over="ignore"):
        as_float32 = array.astype(np.float32) if array.dtype.kind == "f" else array
    bad = ~np.isfinite(as_float32).reshape(array.shape[0], -1).all(axis=1)
    if not bad.any():
        return None
    row = int(np.argmax(bad))
    line = None if lines is None else int(lines[row])
    reason = "is not finite" if not np.isfinite(array[row]).all() else \
        "is too large for float32"
    return FileFormatError(path, f"{what} {row} {reason} ({array[row].tolist()})", line=line)


def check_finite(path: PathLike, array: np.ndarray, what: str, lines=None) -> None:
    """FileFormatError naming the first row of ``array`` holding NaN or infinity."""
    error = non_finite_error(path, array, what, lines)
    if error is not None:
        raise error


def finite_colors(path: PathLike, colors: np.ndarray | None, what: str, strict: bool = False,
                  lines=None) -> np.ndarray | None:
    """A file's colours, or None when they hold NaN or infinity.

    Args:
        colors: (N, C) float colours as read, or None.
        what: what a row is, for the message ("colour of vertex" names row i as
            "colour of vertex i").
        strict: raise the FileFormatError instead of dropping the colours with a warning.
        lines: (N,) line of each row in a text file, or None.
    Returns:
        ``colors`` unchanged when all are finite; otherwise None after a warning naming the
        first bad row (the geometry stays usable), or FileFormatError with ``strict``.
    """
    if colors is None:
        return None
    error = non_finite_error(path, colors, what, lines)
    if error is None:
        return colors
    if strict:
        raise error
    io_warn(path, f"{error.reason}; colours dropped (strict_colors=True raises instead)",
            error.line)
    return None


def check_index_range(
    path: PathLike, faces: np.ndarray, count: int, what: str, lines=None, base: int = 0
) -> None:
    """FileFormatError naming the first face with an index outside [0, count).

    ``what`` is what the indices count (e.g. "vertex"); ``base`` is added to the indices shown
    in the message (1 for formats that count from 1).
    """
    if faces.size == 0:
        return
    bad = ((faces < 0) | (faces >= count)).reshape(faces.shape[0], -1).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        line = None if lines is None else int(lines[row])
        shown = (faces[row] + base).tolist()
        raise FileFormatError(
            path,
            f"face {row} uses {what} indices {shown} but the file has {count} "
            f"{'vertices' if what == 'vertex' else what + 's'} "
            f"(valid indices: {base} to {count - 1 + base})",
            line=line,
        )


def require_vertices(path: PathLike, num_verts: int, what: str = "vertices",
                     num_bytes: int | None = None) -> None:
    """FileFormatError when the file holds no vertex: it is empty, or (given its size
    ``num_bytes`` > 0) no geometry was found in that many bytes."""
    if num_verts == 0 and num_bytes:
        raise FileFormatError(path, f"no geometry found in {num_bytes} bytes: the file holds "
                                    f"no {what}")
    if num_verts == 0:
        raise FileFormatError(path, f"the file is empty: it holds no {what}")


def require_faces(path: PathLike, num_verts: int, num_faces: int) -> None:
    """FileFormatError for a mesh load of a file with vertices but no faces."""
    require_vertices(path, num_verts)
    if num_faces == 0:
        raise FileFormatError(
            path,
            f"the file has {num_verts} vertices but no faces, so it is not a mesh; load it as a "
            f"point cloud with r3d.io.IO().load_pointcloud",
        )


# -- arguments of the savers -------------------------------------------------------------------


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def is_empty(value) -> bool:
    """Whether a saver's optional argument is left out: None, or a tensor / array with no
    elements (``torch.tensor([])``, PyTorch3D's idiom for "none")."""
    return value is None or _to_numpy(value).size == 0


def as_float_array(fn: str, arg: str, value, cols: int | Sequence[int]) -> np.ndarray:
    """(N, cols) finite float array from a tensor/array argument, or InputError.

    An empty 1-D argument (``torch.tensor([])``) is (0, cols) (the first of ``cols`` when
    several are allowed).
    """
    cols = (cols,) if isinstance(cols, int) else tuple(cols)
    arr = _to_numpy(value)
    if arr.size == 0 and (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] in cols)):
        return np.zeros((0, arr.shape[1] if arr.ndim == 2 else cols[0]), np.float64)
    if arr.ndim != 2 or arr.shape[1] not in cols or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        want = " or ".join(f"(N, {c})" for c in cols)
        raise InputError(
            f"{fn}: {arg} must be a float tensor of shape {want}, got shape "
            f"{tuple(arr.shape)} and dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        row = int(np.argmax(~np.isfinite(arr).all(axis=1)))
        raise InputError(f"{fn}: {arg} holds NaN or infinity (row {row}: {arr[row].tolist()})")
    return arr


def _integral(fn: str, arg: str, arr: np.ndarray) -> np.ndarray:
    """A float index array cast to int64 (as PyTorch3D casts float faces); InputError when a
    value is not a whole number."""
    whole = np.isfinite(arr) & (arr == np.round(arr))
    if not whole.all():
        row = int(np.argmax(~whole.reshape(arr.shape[0], -1).all(axis=1)))
        raise InputError(f"{fn}: {arg} holds values that are not whole numbers, so they are "
                         f"not indices (row {row}: {arr[row].tolist()})")
    return arr.astype(np.int64)


def as_index_array(fn: str, arg: str, value, count: int, cols: int = 3) -> np.ndarray:
    """(F, cols) int64 array of indices in [0, count), or InputError.

    Float tensors holding whole numbers are cast (PyTorch3D's savers accept them); an empty
    1-D argument (``torch.tensor([])``) or one of 0 rows is (0, cols).
    """
    arr = _to_numpy(value)
    if arr.size == 0 and (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[0] == 0)):
        return np.zeros((0, cols), np.int64)
    integer = np.issubdtype(arr.dtype, np.integer)
    if arr.ndim != 2 or arr.shape[1] != cols or not (
            integer or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(
            f"{fn}: {arg} must be an integer tensor of shape (F, {cols}), got shape "
            f"{tuple(arr.shape)} and dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64) if integer else _integral(fn, arg, arr)
    if arr.size and (arr.min() < 0 or arr.max() >= count):
        raise InputError(
            f"{fn}: {arg} holds indices in [{arr.min()}, {arr.max()}] but only {count} rows "
            f"can be indexed"
        )
    return arr


def as_uv_arrays(
    fn: str, verts_uvs, faces_uvs, faces: np.ndarray, num_verts: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated (T, 2) float UVs and (F, 3) int UV indices for a saver, or (None, None).

    Without ``faces_uvs`` the UVs must be per vertex (T == ``num_verts``) and ``faces`` index
    them. Raises InputError for bad shapes, indices out of range or ``faces_uvs`` alone.
    """
    if verts_uvs is None:
        if faces_uvs is not None:
            raise InputError(f"{fn}: faces_uvs given without verts_uvs")
        return None, None
    uv = as_float_array(fn, "verts_uvs", verts_uvs, 2)
    if faces_uvs is None:
        if uv.shape[0] != num_verts:
            raise InputError(f"{fn}: faces_uvs is required unless verts_uvs has one row "
                             f"per vertex ({num_verts}), got {uv.shape[0]}")
        return uv, faces
    fuv = as_index_array(fn, "faces_uvs", faces_uvs, uv.shape[0])
    if fuv.shape[0] != faces.shape[0]:
        raise InputError(f"{fn}: faces_uvs must have {faces.shape[0]} rows, got {fuv.shape[0]}")
    return uv, fuv


def format_floats(arr: np.ndarray, decimal_places: int | None) -> list[str]:
    """Rows of ``arr`` as space-separated text (``%.{d}f`` or shortest float32-exact)."""
    fmt = f"%.{decimal_places}f" if decimal_places is not None else "%.9g"
    if arr.size == 0:
        return []
    row_fmt = " ".join([fmt] * arr.shape[1])
    return [row_fmt % tuple(r) for r in arr.tolist()]


# -- tensors and structures ------------------------------------------------------------------


def tensor(array: np.ndarray, dtype: torch.dtype, device) -> torch.Tensor:
    """A torch tensor of ``dtype`` on ``device`` from a numpy array."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype=dtype, device=device)


def make_meshes(verts: torch.Tensor, faces: torch.Tensor, textures=None,
                verts_normals: torch.Tensor | None = None):
    """A one-mesh :class:`r3d.structures.Meshes` of (V, 3) verts, (F, 3) faces and optional
    (V, 3) vertex normals."""
    return Meshes(verts=[verts], faces=[faces], textures=textures,
                  verts_normals=None if verts_normals is None else [verts_normals])


def make_pointclouds(points: torch.Tensor, normals=None, features=None):
    """A one-cloud :class:`r3d.structures.Pointclouds`."""
    return Pointclouds(
        points=[points],
        normals=None if normals is None else [normals],
        features=None if features is None else [features],
    )


def single_mesh(fn: str, meshes) -> tuple[torch.Tensor, torch.Tensor]:
    """(V, 3) verts and (F, 3) faces of a one-mesh Meshes; InputError for other batch sizes."""
    if len(meshes) != 1:
        raise InputError(f"{fn}: can only save a batch of exactly 1 mesh, got {len(meshes)}")
    return meshes.verts_list()[0], meshes.faces_list()[0]


def load_image(source) -> torch.Tensor:
    """(H, W, 3) float32 image in [0, 1] read with Pillow (alpha dropped, grey expanded).

    ``source`` is a path or a binary file object. 16-bit images keep their precision.
    """
    from PIL import Image

    if isinstance(source, (str, os.PathLike)):
        source = os.fspath(source)
    with Image.open(source) as img:
        img.load()
        return pil_image_tensor(img)


def load_image_or_warn(owner, name: str, path: str, whose: str,
                       instead: str) -> torch.Tensor | None:
    """A texture image a mesh file names, or None with a warning naming ``owner`` (the mesh
    file) when it is missing or cannot be decoded (the mesh still loads).

    Args:
        name: the image's name as the file writes it; path: that name resolved to a path.
        whose: what names it, for the message ("of material 'red'").
        instead: what the loader does without it ("using its diffuse colour instead").
    Returns:
        (H, W, 3) float32 image in [0, 1] (:func:`load_image`), or None.
    """
    if not os.path.isfile(path):
        io_warn(owner, f"texture image {name!r} {whose} not found ({path}); {instead}")
        return None
    try:
        return load_image(path)
    except Exception as exc:  # Pillow raises many types for undecodable images
        io_warn(owner, f"texture image {path} {whose} could not be read ({exc}); {instead}")
        return None


def pil_image_tensor(img) -> torch.Tensor:
    """(H, W, 3) float32 image in [0, 1] from a loaded Pillow image (alpha dropped, grey
    expanded, 16-bit precision kept)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64) / 65535.0
        arr = np.repeat(arr[..., None], 3, axis=2).astype(np.float32)
    else:
        arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(arr))


def image_from_bytes(data: bytes) -> torch.Tensor:
    """(H, W, 3) float32 image in [0, 1] decoded from PNG/JPEG/... bytes."""
    import io

    return load_image(io.BytesIO(data))


def image_to_png_bytes(image) -> bytes:
    """PNG bytes of an (H, W, 3) or (H, W, 4) float image in [0, 1] (clamped)."""
    import io

    from PIL import Image

    arr = _to_numpy(image)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(
            f"texture_map must have shape (H, W, 3) or (H, W, 4), got {tuple(arr.shape)}"
        )
    if not np.isfinite(arr).all():
        raise InputError("texture_map holds NaN or infinity")
    arr = np.clip(np.rint(arr.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = arr[..., 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()
