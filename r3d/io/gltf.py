"""glTF 2.0 (``.gltf`` with external or embedded buffers, and binary ``.glb``).

The reader walks the default scene's node tree, applies each node's transform (matrix or
translation/rotation/scale) to the positions of its mesh, and joins every triangle primitive
into one mesh, keeping each primitive's vertex order. Triangle strips and fans are converted
to triangles; point and line primitives are skipped with a warning. It reads POSITION,
indices, TEXCOORD_n with the material's ``baseColorTexture`` (embedded, data URI or external
image) and COLOR_0, plus sparse accessors and strided buffer views.

UVs are returned in r3d's convention (v up, origin at the bottom-left of the image), i.e.
``v = 1 - v_gltf``. Each texture's sampler says how UVs outside [0, 1] wrap, per axis
(wrapS for u, wrapT for v; REPEAT when the texture has no sampler, as the spec says): the
TexturesUV keeps it as its padding_mode (REPEAT "repeat", MIRRORED_REPEAT "reflection",
CLAMP_TO_EDGE "border"), and the writer writes it back.

Reading goes in stages:

1. container: :func:`_read_container` gets the JSON document and the GLB binary chunk
   (:func:`_parse_glb`), :func:`_check_document` rejects what r3d cannot read;
2. data: :class:`_Document` resolves buffers (GLB chunk, data URI or external file),
   buffer views, accessors (strided, sparse, normalized) and images;
3. scene: :func:`_mesh_instances` walks the node tree into (mesh, world matrix) pairs;
4. primitives: :func:`_primitive_geometry` gives each primitive's world-space positions and
   triangles, :func:`_base_color`, :func:`_textured_uvs` and :func:`_vertex_colors` its
   material, texture and colours;
5. mesh: :class:`_JoinedMesh` appends the primitives and :meth:`_JoinedMesh.result` returns
   the :class:`GltfMesh`.

The writer produces a single-primitive file: positions, indices, optional per-vertex UVs (the
vertices are split where one position has several UVs), an embedded PNG base-colour texture
with a sampler of its wrap modes, optional COLOR_0 and NORMAL; :func:`glb_bytes` returns the
same GLB as bytes and :func:`points_glb_bytes` a point primitive's, for the HTML viewer.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_open
from r3d.io.gltf_schema import check_gltf_types
from r3d.io.mesh_arrays import distinct_corners, per_vertex_floats
from r3d.io.texturing import REPEAT, Wrap, build_uv_texture, saved_wrap, solid_patch
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    as_uv_arrays,
    check_finite,
    finite_colors,
    image_from_bytes,
    image_to_png_bytes,
    io_warn,
    parse_json,
    read_file_bytes,
    require_vertices,
    tensor,
)
from r3d.structures.textures import TexturesVertex

__all__ = ["GltfMesh", "glb_bytes", "load_gltf", "points_glb_bytes", "read_gltf", "save_gltf"]

_COMPONENTS = {5120: "i1", 5121: "u1", 5122: "i2", 5123: "u2", 5125: "u4", 5126: "f4"}
_INDEX_TYPES = (5121, 5123, 5125)  # unsigned byte, short and int: the types of indices
_TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
# compressed geometry that would otherwise read as zeros
_UNSUPPORTED_EXTENSIONS = {"KHR_draco_mesh_compression", "EXT_meshopt_compression"}
# primitive modes
_POINTS, _TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN = 0, 4, 5, 6
# component types and buffer view targets the writer uses
_FLOAT, _UNSIGNED_INT, _UNSIGNED_BYTE = 5126, 5125, 5121
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR = 9729
# sampler wrap modes and the TexturesUV padding modes that sample the same
_WRAP_MODES = {10497: "repeat", 33648: "reflection", 33071: "border"}
_WRAP_CODES = {mode: code for code, mode in _WRAP_MODES.items()}


@dataclass
class GltfMesh:
    """All triangle primitives of a glTF scene joined into one mesh (numpy, world space).

    Attributes:
        verts: (V, 3) float64; faces: (F, 3) int64.
        verts_uvs: (V, 2) float64 per vertex (r3d convention), or None if no primitive has
            a base-colour texture with UVs.
        faces_uvs: (F, 3) int64 into verts_uvs, -1 for faces of untextured primitives.
        face_patch: (F,) int64 index of each face's entry in ``patches``.
        patches: list of (H, W, 3) float32 tensors: textures, or 1x1 base colours.
        verts_colors: (V, 3) float64 COLOR_0 (base colour where a primitive has none), or None.
        textured: whether any primitive has an image texture.
        patch_wraps: (u mode, v mode) of each patch: its texture sampler's wrapS and wrapT
            as TexturesUV padding modes (("repeat", "repeat") for colours).
    """

    verts: np.ndarray
    faces: np.ndarray
    verts_uvs: np.ndarray | None
    faces_uvs: np.ndarray
    face_patch: np.ndarray
    patches: list
    verts_colors: np.ndarray | None
    textured: bool
    patch_wraps: list = field(default_factory=list)


# -- stage 1: container ------------------------------------------------------------------------


def _glb_chunks(path: str, data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (chunk type, chunk bytes) pairs of a GLB file, after checking its 12-byte header.

    FileFormatError for a truncated file or a GLB version other than 2.
    """
    if len(data) < 20:
        raise FileFormatError(path, "truncated GLB header")
    _, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2:
        raise FileFormatError(path, f"GLB version {version} is not supported (2 is)")
    if length > len(data):
        raise FileFormatError(path, f"the GLB is truncated: the header says {length} "
                                    f"bytes, the file has {len(data)}")
    pos = 12
    while pos + 8 <= length:
        size, kind = struct.unpack_from("<II", data, pos)
        chunk = data[pos + 8 : pos + 8 + size]
        if len(chunk) != size:
            raise FileFormatError(path, "the GLB is truncated inside a chunk")
        yield kind, chunk
        pos += 8 + size + ((4 - size % 4) % 4 if pos + 8 + size < length else 0)


def _parse_glb(path: str, data: bytes) -> tuple[dict, bytes | None]:
    """(JSON document, first BIN chunk or None) of a GLB file; FileFormatError without a
    (valid) JSON chunk."""
    doc = None
    bin_chunk = None
    for kind, chunk in _glb_chunks(path, data):
        if kind == _CHUNK_JSON and doc is None:
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileFormatError(path, f"invalid GLB JSON chunk ({exc})") from None
            doc = parse_json(path, text)
        elif kind == _CHUNK_BIN and bin_chunk is None:
            bin_chunk = chunk
    if doc is None:
        raise FileFormatError(path, "the GLB has no JSON chunk")
    return doc, bin_chunk


def _read_container(path: str, data: bytes) -> tuple[dict, bytes | None]:
    """(JSON document, GLB binary chunk or None) of a .glb or .gltf file's bytes."""
    if data[:4] == _GLB_MAGIC:
        return _parse_glb(path, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(path, f"not a glTF file: not UTF-8 text ({exc})") from None
    return parse_json(path, text), None


def _check_document(path: str, gltf) -> None:
    """FileFormatError unless ``gltf`` is a JSON object of glTF 2 that needs no compression
    extension, whose fields r3d reads have the right types (:func:`check_gltf_types`)."""
    if not isinstance(gltf, dict):
        raise FileFormatError(path, "not a glTF file: the JSON is not an object")
    check_gltf_types(path, gltf)
    required = set(gltf.get("extensionsRequired", [])) & _UNSUPPORTED_EXTENSIONS
    if required:
        raise FileFormatError(path, f"the file needs glTF extensions r3d does not read: "
                                    f"{sorted(required)}")
    version = str(gltf.get("asset", {}).get("version", "2.0"))
    if not version.startswith("2"):
        raise FileFormatError(path, f"glTF version {version} is not supported (2.0 is)")


# -- stage 2: buffers, views, accessors, images ------------------------------------------------


class _Document:
    """A glTF file's JSON (``gltf``) and the data it refers to, read on demand."""

    def __init__(self, path: str):
        self.path = path
        self.folder = os.path.dirname(os.path.abspath(path))
        self.gltf, self.bin_chunk = _read_container(path, read_file_bytes(path))
        _check_document(path, self.gltf)
        self._buffers: dict[int, bytes] = {}

    def _item(self, kind: str, index) -> dict:
        """Entry ``index`` of the top-level array ``kind``; FileFormatError if missing."""
        items = self.gltf.get(kind, [])
        if not isinstance(index, int) or not 0 <= index < len(items):
            raise FileFormatError(self.path, f"{kind}[{index}] does not exist "
                                             f"(the file has {len(items)})")
        return items[index]

    def _uri_bytes(self, uri: str) -> bytes:
        """The bytes of a data URI, or of a file relative to the document's folder."""
        if uri.startswith("data:"):
            header, _, payload = uri.partition(",")
            if ";base64" not in header:
                return urllib.parse.unquote_to_bytes(payload)
            try:
                return base64.b64decode(payload)
            except binascii.Error as exc:
                raise FileFormatError(self.path, f"a data URI is not valid base64 ({exc})") \
                    from None
        rel = urllib.parse.unquote(uri)
        full = rel if os.path.isabs(rel) else os.path.join(self.folder, rel)
        if not os.path.isfile(full):
            raise FileFormatError(self.path, f"the external resource {uri!r} is missing "
                                             f"({full})")
        return read_file_bytes(full)

    def buffer(self, index: int) -> bytes:
        """The bytes of buffer ``index`` (GLB chunk, data URI or external file), cached."""
        if index not in self._buffers:
            buf = self._item("buffers", index)
            if "uri" in buf:
                data = self._uri_bytes(buf["uri"])
            elif index == 0 and self.bin_chunk is not None:
                data = self.bin_chunk
            else:
                raise FileFormatError(self.path, f"buffer {index} has no data")
            if len(data) < buf.get("byteLength", 0):
                raise FileFormatError(self.path, f"buffer {index} is truncated: "
                                                 f"{len(data)} of {buf['byteLength']} bytes")
            self._buffers[index] = data
        return self._buffers[index]

    def view_bytes(self, index: int) -> tuple[bytes, int, int, int | None]:
        """(buffer bytes, start offset, length, stride) of a buffer view."""
        view = self._item("bufferViews", index)
        data = self.buffer(view.get("buffer", 0))
        start = view.get("byteOffset", 0)
        length = view["byteLength"]
        if start + length > len(data):
            raise FileFormatError(self.path, f"bufferViews[{index}] runs past the end of its "
                                             f"buffer")
        return data, start, length, view.get("byteStride")

    def _dense_values(self, index: int, acc: dict, dtype: np.dtype, ncomp: int) -> np.ndarray:
        """(count, ncomp) copy of an accessor's (possibly strided) buffer view data, or
        zeros when it has no buffer view."""
        count = acc["count"]
        if "bufferView" not in acc:  # zeros (a sparse accessor's base): no larger than the data
            data_bytes = sum(len(self.buffer(i)) for i in range(len(self.gltf.get("buffers", []))))
            if count > data_bytes:
                raise FileFormatError(self.path, f"accessors[{index}] has no buffer view and "
                                                 f"{count} elements, more than the {data_bytes} "
                                                 f"bytes of the file's buffers")
            return np.zeros((count, ncomp), dtype=dtype)
        data, start, length, stride = self.view_bytes(acc["bufferView"])
        offset = start + acc.get("byteOffset", 0)
        elem = dtype.itemsize * ncomp
        stride = stride or elem
        end = offset + (stride * (count - 1) + elem if count else 0)
        if end > start + length:
            raise FileFormatError(self.path, f"accessors[{index}] reads past the end of "
                                             f"its buffer view")
        return np.ndarray((count, ncomp), dtype=dtype, buffer=data, offset=offset,
                          strides=(stride, dtype.itemsize)).copy()

    def _view_array(self, where: str, info: dict, dtype: np.dtype, n: int) -> np.ndarray:
        """The (n,) values of ``dtype`` at ``info``'s buffer view and byte offset."""
        data, start, length, _ = self.view_bytes(info["bufferView"])
        offset = info.get("byteOffset", 0)
        if offset + n * dtype.itemsize > length:
            raise FileFormatError(self.path, f"{where} reads past the end of its buffer view")
        return np.frombuffer(data, dtype, n, start + offset)

    def _apply_sparse(self, index: int, arr: np.ndarray, sparse: dict, dtype: np.dtype) -> None:
        """Writes a sparse accessor's substituted rows into ``arr`` (count, ncomp)."""
        n, (count, ncomp) = sparse["count"], arr.shape
        where = f"accessors[{index}].sparse"
        if sparse["indices"]["componentType"] not in _INDEX_TYPES:
            raise FileFormatError(self.path, f"{where}.indices must be unsigned integers")
        idt = np.dtype("<" + _COMPONENTS[sparse["indices"]["componentType"]])
        idx = self._view_array(f"{where}.indices", sparse["indices"], idt, n).astype(np.int64)
        vals = self._view_array(f"{where}.values", sparse["values"], dtype, n * ncomp)
        if idx.size and int(idx.max()) >= count:
            raise FileFormatError(self.path, f"{where} substitutes element {int(idx.max())} "
                                             f"of {count}")
        arr[idx] = vals.reshape(n, ncomp)

    def accessor(self, index: int, what: str, types: tuple[str, ...],
                 components: tuple[int, ...] = tuple(_COMPONENTS)) -> np.ndarray:
        """(count, components) array (float64 for normalized ints, else native) of the
        accessor that ``what`` (an attribute, "indices") names; FileFormatError unless its type
        is one of ``types`` and its component type one of ``components``."""
        acc = self._item("accessors", index)
        ctype = acc.get("componentType")
        if ctype not in _COMPONENTS or acc.get("type") not in _TYPE_SIZES:
            raise FileFormatError(self.path, f"accessors[{index}] has an unknown component "
                                             f"type or type ({ctype}, {acc.get('type')})")
        if acc["type"] not in types or ctype not in components:
            raise FileFormatError(self.path, f"{what} (accessors[{index}]) is {acc['type']} of "
                                             f"component type {ctype}, not {' or '.join(types)}"
                                             f" of {', '.join(map(str, components))}")
        dtype = np.dtype("<" + _COMPONENTS[ctype])
        arr = self._dense_values(index, acc, dtype, _TYPE_SIZES[acc["type"]])
        sparse = acc.get("sparse")
        if sparse:
            self._apply_sparse(index, arr, sparse, dtype)
        if acc.get("normalized") and dtype.kind in "iu":
            info = np.iinfo(dtype)
            arr = np.maximum(arr.astype(np.float64) / info.max, -1.0)
        return arr

    def image(self, index: int) -> torch.Tensor:
        """Image ``index`` decoded to an (H, W, 3) float32 tensor in [0, 1]."""
        img = self._item("images", index)
        if "bufferView" in img:
            data, start, length, _ = self.view_bytes(img["bufferView"])
            raw = data[start : start + length]
        elif "uri" in img:
            raw = self._uri_bytes(img["uri"])
        else:
            raise FileFormatError(self.path, f"images[{index}] has no data")
        return image_from_bytes(raw)


# -- stage 3: scene ----------------------------------------------------------------------------


def _quat_matrix(q) -> np.ndarray:
    """(3, 3) rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(c) for c in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _node_matrix(node: dict) -> np.ndarray:
    """(4, 4) local transform of a node (its matrix, or translation * rotation * scale)."""
    if "matrix" in node:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T  # column-major
    m = np.eye(4)
    m[:3, :3] = _quat_matrix(node.get("rotation", [0, 0, 0, 1])) @ np.diag(
        np.asarray(node.get("scale", [1, 1, 1]), np.float64))
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def _scene_roots(doc: _Document) -> list[int]:
    """Root node indices of the default scene; without scenes, the nodes no node parents."""
    g = doc.gltf
    if g.get("scenes", []):
        return doc._item("scenes", g.get("scene", 0)).get("nodes", [])
    nodes = g.get("nodes", [])
    children = {c for n in nodes for c in n.get("children", [])}
    return [i for i in range(len(nodes)) if i not in children]


def _mesh_instances(doc: _Document) -> list[tuple[int, np.ndarray]]:
    """(mesh index, (4, 4) world matrix) of every node with a mesh, depth first in scene
    order; every mesh untransformed for a file with meshes but neither scenes nor nodes.
    FileFormatError for a node reached twice (a cycle, or a node with two parents: glTF's
    nodes form disjoint trees), which would otherwise multiply the scene without end."""
    instances: list[tuple[int, np.ndarray]] = []
    stack = [(r, np.eye(4)) for r in reversed(_scene_roots(doc))]
    seen: set[int] = set()
    while stack:
        index, parent = stack.pop()
        if index in seen:
            raise FileFormatError(doc.path, f"nodes[{index}] is reached twice in the scene: "
                                            f"the node hierarchy has a cycle or shared nodes")
        seen.add(index)
        node = doc._item("nodes", index)
        world = parent @ _node_matrix(node)
        if "mesh" in node:
            instances.append((node["mesh"], world))
        for child in reversed(node.get("children", [])):
            stack.append((child, world))
    g = doc.gltf
    if not g.get("scenes", []) and not g.get("nodes", []) and g.get("meshes"):
        instances = [(i, np.eye(4)) for i in range(len(g["meshes"]))]
    return instances


# -- stage 4: primitives -----------------------------------------------------------------------


def _primitive_faces(path: str, mode: int, idx: np.ndarray) -> np.ndarray | None:
    """(T, 3) triangles of a primitive's (N,) int64 indices for triangle, strip and fan
    modes (degenerate strip/fan triangles dropped); None for points and lines."""
    if mode == _TRIANGLES:
        if idx.size % 3:
            raise FileFormatError(path, f"a triangle primitive has {idx.size} indices, not a "
                                        f"multiple of 3")
        return idx.reshape(-1, 3)
    if mode in (_TRIANGLE_STRIP, _TRIANGLE_FAN) and idx.size < 3:
        return np.zeros((0, 3), np.int64)
    if mode == _TRIANGLE_STRIP:
        k = np.arange(idx.size - 2)
        odd = k % 2
        faces = np.stack([idx[k], idx[k + 1 + odd], idx[k + 2 - odd]], axis=1)
    elif mode == _TRIANGLE_FAN:
        k = np.arange(1, idx.size - 1)
        faces = np.stack([idx[k], idx[k + 1], np.full_like(k, idx[0])], axis=1)
        faces = faces[:, [2, 0, 1]]
    else:
        return None
    return faces[distinct_corners(faces)]


def _primitive_geometry(doc: _Document, mesh_index: int, prim: dict, world: np.ndarray):
    """World-space geometry of one primitive of ``meshes[mesh_index]``.

    Returns (positions (n, 3) float64, triangles (T, 3) int64 into them, wound
    counter-clockwise after ``world`` (4, 4)); None for a primitive without POSITION or of
    point/line mode (with a warning). FileFormatError for compressed primitives and indices
    out of range.
    """
    attrs = prim.get("attributes", {})
    mode = prim.get("mode", _TRIANGLES)
    if "POSITION" not in attrs:
        return None
    if set(prim.get("extensions", {})) & _UNSUPPORTED_EXTENSIONS:
        raise FileFormatError(doc.path, f"a primitive of meshes[{mesh_index}] is compressed "
                                        f"({sorted(prim['extensions'])}), which r3d does "
                                        f"not read")
    pos = doc.accessor(attrs["POSITION"], "POSITION", ("VEC3",)).astype(np.float64)
    n = pos.shape[0]
    idx = (doc.accessor(prim["indices"], "indices", ("SCALAR",), _INDEX_TYPES)
           .reshape(-1).astype(np.int64) if "indices" in prim else np.arange(n, dtype=np.int64))
    tri = _primitive_faces(doc.path, mode, idx)
    if tri is None:
        io_warn(doc.path, f"a primitive of mode {mode} (points or lines) was skipped")
        return None
    if tri.size and (tri.min() < 0 or tri.max() >= n):
        raise FileFormatError(doc.path, f"a primitive of meshes[{mesh_index}] has indices "
                                        f"up to {int(tri.max())} but {n} vertices")
    pos = pos @ world[:3, :3].T + world[:3, 3]
    if np.linalg.det(world[:3, :3]) < 0:
        tri = tri[:, [0, 2, 1]]
    return pos, tri


def _base_color(doc: _Document, prim: dict) -> tuple[np.ndarray, dict | None]:
    """(base colour factor (3,) float64, ``baseColorTexture`` info or None) of a
    primitive's material (white and None without a material)."""
    material = doc._item("materials", prim["material"]) if "material" in prim else {}
    pbr = material.get("pbrMetallicRoughness", {})
    factor = np.asarray(pbr.get("baseColorFactor", [1, 1, 1, 1]), np.float64)[:3]
    return factor, pbr.get("baseColorTexture")


def _sampler_wrap(doc: _Document, texture: dict) -> Wrap:
    """(u mode, v mode) of a texture's sampler (wrapS, wrapT) as TexturesUV padding modes;
    REPEAT without a sampler or for a value the spec does not define (with a warning)."""
    if "sampler" not in texture:
        return REPEAT
    sampler = doc._item("samplers", texture["sampler"])
    modes = []
    for key in ("wrapS", "wrapT"):
        code = sampler.get(key, _WRAP_CODES["repeat"])
        if code not in _WRAP_MODES:
            io_warn(doc.path, f"samplers[{texture['sampler']}].{key} is {code!r}, not a wrap "
                              f"mode of glTF (10497, 33648, 33071); REPEAT is used")
        modes.append(_WRAP_MODES.get(code, "repeat"))
    return modes[0], modes[1]


class _Patches:
    """The texture patches of the joined mesh: one per distinct (image, colour factor, wrap)
    and one 1x1 patch per distinct base colour, each (H, W, 3) float32, with its wrap."""

    def __init__(self):
        self.images: list[torch.Tensor] = []
        self.wraps: list[Wrap] = []
        self._index: dict = {}
        self._failed: set = set()

    def _add(self, key: tuple, image: torch.Tensor, wrap: Wrap) -> None:
        self._index[key] = len(self.images)
        self.images.append(image)
        self.wraps.append(wrap)

    def solid(self, factor: np.ndarray) -> int:
        """Index of the 1x1 patch of base colour ``factor`` (3,)."""
        key = ("color", tuple(factor.tolist()))
        if key not in self._index:
            self._add(key, solid_patch(factor), REPEAT)
        return self._index[key]

    def image(self, doc: _Document, source: int, factor: np.ndarray, wrap: Wrap) -> int | None:
        """Index of the patch of ``images[source]`` times ``factor`` (3,), wrapping as
        ``wrap`` says; None (with one warning per image and factor) if the image cannot be
        read."""
        key = ("image", source, tuple(factor.tolist()), wrap)
        if key[:3] in self._failed:
            return None
        if key not in self._index:
            try:
                img = doc.image(source)
            except Exception as exc:  # missing file or Pillow's many errors
                io_warn(doc.path, f"images[{source}] could not be read ({exc}); "
                                  f"using the base colour")
                self._failed.add(key[:3])
                return None
            if not np.allclose(factor, 1.0):
                img = img * torch.tensor(factor, dtype=img.dtype)
            self._add(key, img, wrap)
        return self._index[key]


def _textured_uvs(doc: _Document, patches: _Patches, tex_info: dict, factor: np.ndarray,
                  attrs: dict, n: int) -> tuple[int, np.ndarray] | None:
    """(patch index, UVs (n, 2) float64 in glTF convention) of a base-colour texture; None
    if the texture has no image, the primitive lacks its TEXCOORD_n, or the image cannot be
    read. FileFormatError if the UVs do not have ``n`` rows."""
    texture = doc._item("textures", tex_info.get("index"))
    source = texture.get("source")
    uv_attr = f"TEXCOORD_{tex_info.get('texCoord', 0)}"
    if source is None or uv_attr not in attrs:
        return None
    patch = patches.image(doc, source, factor, _sampler_wrap(doc, texture))
    if patch is None:
        return None
    uv = doc.accessor(attrs[uv_attr], uv_attr, ("VEC2",)).astype(np.float64)
    if uv.shape[0] != n:
        raise FileFormatError(doc.path, f"{uv_attr} has {uv.shape[0]} rows but POSITION has {n}")
    return patch, uv


def _vertex_colors(doc: _Document, attrs: dict, factor: np.ndarray, n: int):
    """(colours (n, 3) float64, whether they come from COLOR_0): COLOR_0, or the base colour
    ``factor`` (3,) repeated. FileFormatError if COLOR_0 does not have ``n`` rows."""
    if "COLOR_0" not in attrs:
        return np.repeat(factor[None], n, axis=0), False
    col = doc.accessor(attrs["COLOR_0"], "COLOR_0", ("VEC3", "VEC4")).astype(np.float64)[:, :3]
    if col.shape[0] != n:
        raise FileFormatError(doc.path, f"COLOR_0 has {col.shape[0]} rows but POSITION has {n}")
    return col, True


# -- stage 5: the joined mesh ------------------------------------------------------------------


class _JoinedMesh:
    """Appends primitives into one mesh: per-primitive arrays, joined by :meth:`result`."""

    def __init__(self):
        self.verts: list[np.ndarray] = []  # (n, 3) per primitive
        self.faces: list[np.ndarray] = []  # (T, 3), offset into the joined vertices
        self.uvs: list[np.ndarray] = []  # (n, 2), r3d convention (zeros if untextured)
        self.faces_uvs: list[np.ndarray] = []  # (T, 3), -1 if untextured
        self.face_patch: list[np.ndarray] = []  # (T,)
        self.colors: list[np.ndarray] = []  # (n, 3)
        self.patches = _Patches()
        self.textured = False
        self.any_color = False
        self.offset = 0

    def add_primitive(self, doc: _Document, mesh_index: int, prim: dict,
                      world: np.ndarray) -> None:
        """Reads one primitive of ``meshes[mesh_index]`` placed by ``world`` (4, 4) and
        appends it (nothing for primitives :func:`_primitive_geometry` skips)."""
        geometry = _primitive_geometry(doc, mesh_index, prim, world)
        if geometry is None:
            return
        pos, tri = geometry
        n = pos.shape[0]
        attrs = prim.get("attributes", {})
        factor, tex_info = _base_color(doc, prim)
        textured = (None if tex_info is None
                    else _textured_uvs(doc, self.patches, tex_info, factor, attrs, n))
        if textured is None:
            patch = self.patches.solid(factor)
            self.uvs.append(np.zeros((n, 2)))
            self.faces_uvs.append(np.full(tri.shape, -1, np.int64))
        else:
            patch, uv = textured
            self.textured = True
            self.uvs.append(np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1))
            self.faces_uvs.append(tri + self.offset)
        col, from_attribute = _vertex_colors(doc, attrs, factor, n)
        self.any_color = self.any_color or from_attribute
        self.colors.append(col)
        self.verts.append(pos)
        self.faces.append(tri + self.offset)
        self.face_patch.append(np.full(tri.shape[0], patch, np.int64))
        self.offset += n

    def result(self, path: str, strict_colors: bool) -> GltfMesh:
        """The joined :class:`GltfMesh`; FileFormatError if it has no vertex or a position
        that is not finite; COLOR_0 values that are not finite as :func:`finite_colors`
        says."""
        verts = np.concatenate(self.verts) if self.verts else np.zeros((0, 3))
        faces = np.concatenate(self.faces) if self.faces else np.zeros((0, 3), np.int64)
        require_vertices(path, verts.shape[0], "mesh vertices (no mesh in the scene)")
        check_finite(path, verts, "vertex")
        return GltfMesh(
            verts=verts,
            faces=faces,
            verts_uvs=np.concatenate(self.uvs) if self.textured else None,
            faces_uvs=(np.concatenate(self.faces_uvs) if self.faces_uvs
                       else np.zeros((0, 3), np.int64)),
            face_patch=(np.concatenate(self.face_patch) if self.face_patch
                        else np.zeros((0,), np.int64)),
            patches=self.patches.images,
            verts_colors=(finite_colors(path, np.concatenate(self.colors), "COLOR_0 of vertex",
                                        strict_colors) if self.any_color else None),
            textured=self.textured,
            patch_wraps=self.patches.wraps,
        )


def read_gltf(path: str | os.PathLike, strict_colors: bool = False) -> GltfMesh:
    """Reads the default scene of a glTF/GLB file into one mesh (see :class:`GltfMesh`).

    Raises FileFormatError for malformed files, missing external buffers, indices out of
    range, NaN positions, and scenes without any triangle (e.g. only empty nodes). COLOR_0
    holding NaN or infinity is dropped with a warning (verts_colors None), or raises
    FileFormatError with ``strict_colors``.
    """
    path = os.fspath(path)
    doc = _Document(path)
    mesh = _JoinedMesh()
    for mesh_index, world in _mesh_instances(doc):
        for prim in doc._item("meshes", mesh_index).get("primitives", []):
            mesh.add_primitive(doc, mesh_index, prim, world)
    return mesh.result(path, strict_colors)


def gltf_textures(mesh: GltfMesh, device):
    """The texture object for a GltfMesh: TexturesUV if any primitive has an image (its
    sampler's wrap modes as padding_mode, or several materials packed by
    :func:`r3d.io.texturing.build_uv_texture`), TexturesVertex if any has COLOR_0, else
    None."""
    if mesh.textured:
        return build_uv_texture(
            mesh.patches, torch.from_numpy(mesh.face_patch), torch.from_numpy(mesh.faces_uvs),
            torch.from_numpy(mesh.verts_uvs).float(), mesh.patch_wraps,
        ).to(device)
    if mesh.verts_colors is not None:
        return TexturesVertex([tensor(mesh.verts_colors, torch.float32, device)])
    return None


def load_gltf(f: str | os.PathLike, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Loads the default scene of a .gltf/.glb file as one mesh.

    Returns:
        verts: (V, 3) float32 in world space (node transforms applied), primitives in scene
            order, each keeping its own vertex order; faces: (F, 3) int64.
    """
    mesh = read_gltf(f)
    return tensor(mesh.verts, torch.float32, device), tensor(mesh.faces, torch.int64, device)


# -- writing -----------------------------------------------------------------------------------


def _pad4(data: bytes, fill: bytes) -> bytes:
    """``data`` padded with ``fill`` to a multiple of 4 bytes."""
    return data + fill * ((4 - len(data) % 4) % 4)


def _split_uv_seams(v: np.ndarray, fc: np.ndarray, extra: np.ndarray | None, uvs: np.ndarray,
                    fuv: np.ndarray):
    """Per-vertex UVs: splits vertices where one position has several UVs.

    Args:
        v: (V, 3) positions; fc: (F, 3) faces; extra: (V, C) per-vertex attributes (colours,
        normals) or None; uvs: (T, 2) UVs; fuv: (F, 3) indices into them.
    Returns:
        (v (V', 3), fc (F, 3), extra (V', C) or None, uv (V', 2)), vertices in order of first
        use when split.
    """
    if fc.size and not np.array_equal(fc, fuv):
        pairs = np.stack([fc.reshape(-1), fuv.reshape(-1)], axis=1)
        uniq, first, inverse = np.unique(pairs, axis=0, return_index=True,
                                         return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        uniq = uniq[order]
        extra = None if extra is None else extra[uniq[:, 0]]
        return v[uniq[:, 0]], rank[inverse.reshape(-1)].reshape(-1, 3), extra, uvs[uniq[:, 1]]
    uv = uvs if uvs.shape[0] == v.shape[0] else np.zeros((v.shape[0], 2))
    if uvs.shape[0] != v.shape[0]:
        uv[fc.reshape(-1)] = uvs[fuv.reshape(-1)]
    return v, fc, extra, uv


def _save_arrays(fn: str, verts, faces, verts_uvs, faces_uvs, texture_map, verts_colors,
                 verts_normals):
    """Checks the arguments of :func:`save_gltf`.

    Returns (verts (V, 3) float64, faces (F, 3) int64, uv (V, 2) float64 or None, colours
    (V, 3) float64 or None, normals (V, 3) float64 or None, PNG bytes of the texture or
    None), vertices split at UV seams; InputError for bad arguments.
    """
    v = as_float_array(fn, "verts", verts, 3)
    fc = as_index_array(fn, "faces", faces, v.shape[0])
    parts = []
    if verts_colors is not None:
        parts.append(per_vertex_floats(fn, "verts_colors", verts_colors, (3, 4),
                                       v.shape[0])[:, :3])
    if verts_normals is not None:
        parts.append(per_vertex_floats(fn, "verts_normals", verts_normals, (3,), v.shape[0]))
    extra = np.concatenate(parts, axis=1) if parts else None
    uvs, fuv = as_uv_arrays(fn, verts_uvs, faces_uvs, fc, v.shape[0])
    uv = None
    if uvs is not None:
        v, fc, extra, uv = _split_uv_seams(v, fc, extra, uvs, fuv)
    col = None if verts_colors is None else extra[:, :3]
    normals = None if verts_normals is None else extra[:, -3:]
    png = None
    if texture_map is not None:
        if uv is None:
            raise InputError(f"{fn}: texture_map needs verts_uvs")
        png = image_to_png_bytes(texture_map)
    return v, fc, uv, col, normals, png


class _BufferBuilder:
    """The one buffer of a written file: 4-byte aligned blobs, their views and accessors."""

    def __init__(self):
        self.blobs: list[bytes] = []
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add_view(self, data: bytes, target: int | None = None) -> int:
        """Appends ``data`` as a new buffer view; returns its index."""
        offset = sum(len(b) for b in self.blobs)
        self.blobs.append(_pad4(data, b"\x00"))
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        return len(self.views) - 1

    def add_accessor(self, arr: np.ndarray, ctype: int, kind: str, target: int,
                     minmax: bool = False) -> int:
        """Appends an (N, C) array as a view and an accessor (with min/max); its index."""
        acc = {"bufferView": self.add_view(arr.tobytes(), target), "componentType": ctype,
               "count": int(arr.shape[0]), "type": kind}
        if minmax:
            acc["min"] = arr.min(axis=0).tolist() if arr.size else [0.0] * arr.shape[1]
            acc["max"] = arr.max(axis=0).tolist() if arr.size else [0.0] * arr.shape[1]
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def blob(self) -> bytes:
        """The buffer's bytes."""
        return b"".join(self.blobs)


def _primitive_json(buffers: _BufferBuilder, v: np.ndarray, fc: np.ndarray,
                    uv: np.ndarray | None, col: np.ndarray | None,
                    normals: np.ndarray | None) -> dict:
    """The triangle primitive of (V, 3) positions, (F, 3) faces, (V, 2) UVs (r3d convention),
    (V, 3) colours and (V, 3) normals, its arrays added to ``buffers``."""
    attributes = {"POSITION": buffers.add_accessor(v.astype("<f4"), _FLOAT, "VEC3",
                                                   _ARRAY_BUFFER, True)}
    if normals is not None:
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        unit = np.where(length > 0, normals / np.where(length > 0, length, 1), [0.0, 0.0, 1.0])
        attributes["NORMAL"] = buffers.add_accessor(unit.astype("<f4"), _FLOAT, "VEC3",
                                                    _ARRAY_BUFFER)
    if uv is not None:
        gl_uv = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1).astype("<f4")
        attributes["TEXCOORD_0"] = buffers.add_accessor(gl_uv, _FLOAT, "VEC2", _ARRAY_BUFFER)
    if col is not None:
        attributes["COLOR_0"] = buffers.add_accessor(np.clip(col, 0, 1).astype("<f4"), _FLOAT,
                                                     "VEC3", _ARRAY_BUFFER)
    indices = buffers.add_accessor(fc.reshape(-1, 1).astype("<u4"), _UNSIGNED_INT, "SCALAR",
                                   _ELEMENT_ARRAY_BUFFER)
    return {"attributes": attributes, "indices": indices, "mode": _TRIANGLES}


def _sampler_codes(path: str, wrap: Wrap) -> tuple[int, int]:
    """(wrapS, wrapT) of a (u mode, v mode) wrap; "zeros", which glTF cannot store, is
    written as CLAMP_TO_EDGE (with a warning)."""
    if "zeros" in wrap:
        io_warn(path, "glTF has no wrap mode that reads zero outside the texture "
                      "(padding_mode 'zeros'); CLAMP_TO_EDGE is written")
    return tuple(_WRAP_CODES.get(m, _WRAP_CODES["border"]) for m in wrap)


def _gltf_json(v: np.ndarray, fc: np.ndarray, uv: np.ndarray | None, col: np.ndarray | None,
               normals: np.ndarray | None, png: bytes | None,
               wrap_codes: tuple[int, int]) -> tuple[dict, bytes]:
    """(glTF JSON without ``buffers``, buffer bytes) of a one-node, one-primitive scene with
    an embedded PNG base-colour texture when ``png`` is given, sampled with wrap modes
    ``wrap_codes`` (wrapS, wrapT)."""
    buffers = _BufferBuilder()
    primitive = _primitive_json(buffers, v, fc, uv, col, normals)
    gltf: dict = {
        "asset": {"version": "2.0", "generator": "r3d"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
    }
    material = {"pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 1.0}}
    if png is not None:
        gltf["images"] = [{"bufferView": buffers.add_view(png), "mimeType": "image/png"}]
        gltf["samplers"] = [{"magFilter": _LINEAR, "minFilter": _LINEAR,
                             "wrapS": wrap_codes[0], "wrapT": wrap_codes[1]}]
        gltf["textures"] = [{"sampler": 0, "source": 0}]
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    gltf["materials"] = [material]
    primitive["material"] = 0
    gltf["bufferViews"] = buffers.views
    gltf["accessors"] = buffers.accessors
    return gltf, buffers.blob()


def _glb_container(gltf: dict, blob: bytes) -> bytes:
    """The bytes of a GLB file: header, JSON chunk of ``gltf``, BIN chunk ``blob``."""
    gltf["buffers"] = [{"byteLength": len(blob)}]
    js = _pad4(json.dumps(gltf, separators=(",", ":")).encode("utf-8"), b" ")
    total = 12 + 8 + len(js) + 8 + len(blob)
    return (struct.pack("<4sII", _GLB_MAGIC, 2, total)
            + struct.pack("<II", len(js), _CHUNK_JSON) + js
            + struct.pack("<II", len(blob), _CHUNK_BIN) + blob)


def _write_gltf_text(path: str, gltf: dict, blob: bytes) -> None:
    """Writes a .gltf JSON file with ``blob`` as a base64 data URI buffer, atomically."""
    uri = "data:application/octet-stream;base64," + base64.b64encode(blob).decode("ascii")
    gltf["buffers"] = [{"byteLength": len(blob), "uri": uri}]
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(gltf, handle, indent=1)


def _mesh_document(path: str, verts, faces, verts_uvs, faces_uvs, texture_map, verts_colors,
                   verts_normals, texture_wrap) -> tuple[dict, bytes]:
    """(glTF JSON without ``buffers``, buffer bytes) of one mesh; the arguments as
    :func:`save_gltf`'s, ``path`` naming the file in warnings."""
    wrap = saved_wrap("save_gltf", texture_wrap)
    v, fc, uv, col, normals, png = _save_arrays("save_gltf", verts, faces, verts_uvs,
                                                faces_uvs, texture_map, verts_colors,
                                                verts_normals)
    return _gltf_json(v, fc, uv, col, normals, png,
                      _sampler_codes(path, wrap) if png is not None else (0, 0))


def glb_bytes(verts, faces, *, verts_uvs=None, faces_uvs=None, texture_map=None,
              verts_colors=None, verts_normals=None, texture_wrap="repeat") -> bytes:
    """The GLB file :func:`save_gltf` writes for ``.glb``, as bytes (for embedding, e.g. in
    the HTML viewer); the arguments as :func:`save_gltf`'s."""
    return _glb_container(*_mesh_document("glb_bytes", verts, faces, verts_uvs, faces_uvs,
                                          texture_map, verts_colors, verts_normals,
                                          texture_wrap))


def points_glb_bytes(points, colors=None) -> bytes:
    """A GLB file of one point primitive (mode POINTS), as bytes.

    Args:
        points: (P, 3) float positions.
        colors: (P, 3) float colours in [0, 1] (clipped), stored as normalised unsigned
            bytes (COLOR_0), or None.
    """
    p = as_float_array("points_glb_bytes", "points", points, 3)
    buffers = _BufferBuilder()
    attributes = {"POSITION": buffers.add_accessor(p.astype("<f4"), _FLOAT, "VEC3",
                                                   _ARRAY_BUFFER, True)}
    if colors is not None:
        col = per_vertex_floats("points_glb_bytes", "colors", colors, (3, 4), p.shape[0])
        col8 = np.round(np.clip(col[:, :3], 0, 1) * 255).astype(np.uint8)
        rows = np.zeros((p.shape[0], 4), np.uint8)  # VEC4: each element 4-byte aligned
        rows[:, :3], rows[:, 3] = col8, 255
        attributes["COLOR_0"] = buffers.add_accessor(rows, _UNSIGNED_BYTE, "VEC4",
                                                     _ARRAY_BUFFER)
        buffers.accessors[-1]["normalized"] = True
    gltf = {
        "asset": {"version": "2.0", "generator": "r3d"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": attributes, "mode": _POINTS}]}],
        "bufferViews": buffers.views,
        "accessors": buffers.accessors,
    }
    return _glb_container(gltf, buffers.blob())


def save_gltf(
    f: str | os.PathLike,
    verts,
    faces,
    *,
    verts_uvs=None,
    faces_uvs=None,
    texture_map=None,
    verts_colors=None,
    verts_normals=None,
    binary: bool | None = None,
    texture_wrap="repeat",
) -> None:
    """Writes one mesh as glTF 2.0, atomically: GLB for ``.glb`` (or ``binary=True``), else a
    self-contained ``.gltf`` with a base64 buffer.

    Args:
        verts: (V, 3) float; faces: (F, 3) int.
        verts_uvs: (T, 2) float UVs (r3d convention, v up) and faces_uvs: (F, 3) int into
            them (or verts_uvs with V rows and no faces_uvs for per-vertex UVs). Vertices are
            split where one position has several UVs, so V may grow.
        texture_map: (H, W, 3) float image in [0, 1], embedded as PNG (needs UVs).
        verts_colors: (V, 3) float in [0, 1], written as COLOR_0.
        verts_normals: (V, 3) float vertex normals, written (normalised) as NORMAL.
        texture_wrap: how the texture wraps UVs outside [0, 1], a TexturesUV padding mode
            (e.g. ``textures.padding_mode``; one for both axes or a (u, v) pair), written as
            the sampler's wrapS and wrapT ("repeat" REPEAT, "reflection" MIRRORED_REPEAT,
            "border" and "zeros" CLAMP_TO_EDGE).
    """
    path = os.fspath(f)
    gltf, blob = _mesh_document(path, verts, faces, verts_uvs, faces_uvs, texture_map,
                                verts_colors, verts_normals, texture_wrap)
    if binary is None:
        binary = path.lower().endswith(".glb")
    if binary:
        with atomic_open(path, "wb") as handle:
            handle.write(_glb_container(gltf, blob))
    else:
        _write_gltf_text(path, gltf, blob)
