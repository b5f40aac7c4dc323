"""glTF 2.0 (``.gltf`` with external or embedded buffers, and binary ``.glb``).

The reader walks the default scene's node tree, applies each node's transform (matrix or
translation/rotation/scale) to the positions of its mesh, and joins every triangle primitive
into one mesh, keeping each primitive's vertex order. Triangle strips and fans are converted
to triangles; point and line primitives are skipped with a warning. It reads POSITION,
indices, TEXCOORD_n with the material's ``baseColorTexture`` (embedded, data URI or external
image) and COLOR_0, plus sparse accessors and strided buffer views.

UVs are returned in r3d's convention (v up, origin at the bottom-left of the image), i.e.
``v = 1 - v_gltf``.

The writer produces a single-primitive file: positions, indices, optional per-vertex UVs (the
vertices are split where one position has several UVs), an embedded PNG base-colour texture,
and optional COLOR_0.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import urllib.parse
from dataclasses import dataclass

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_open
from r3d.io.texturing import build_uv_texture, solid_patch
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    as_uv_arrays,
    check_finite,
    image_from_bytes,
    image_to_png_bytes,
    io_warn,
    read_file_bytes,
    require_vertices,
    tensor,
)
from r3d.structures.textures import TexturesUV, TexturesVertex

__all__ = ["GltfMesh", "load_gltf", "read_gltf", "save_gltf"]

_COMPONENTS = {5120: "i1", 5121: "u1", 5122: "i2", 5123: "u2", 5125: "u4", 5126: "f4"}
_TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
# compressed geometry that would otherwise read as zeros
_UNSUPPORTED_EXTENSIONS = {"KHR_draco_mesh_compression", "EXT_meshopt_compression"}


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
    """

    verts: np.ndarray
    faces: np.ndarray
    verts_uvs: np.ndarray | None
    faces_uvs: np.ndarray
    face_patch: np.ndarray
    patches: list
    verts_colors: np.ndarray | None
    textured: bool


class _Document:
    def __init__(self, path: str):
        self.path = path
        self.folder = os.path.dirname(os.path.abspath(path))
        data = read_file_bytes(path)
        self.bin_chunk: bytes | None = None
        if data[:4] == _GLB_MAGIC:
            self.gltf = self._parse_glb(data)
        else:
            try:
                self.gltf = json.loads(data.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise FileFormatError(path, f"not a glTF file: invalid JSON ({exc})") from None
        if not isinstance(self.gltf, dict):
            raise FileFormatError(path, "not a glTF file: the JSON is not an object")
        required = set(self.gltf.get("extensionsRequired", [])) & _UNSUPPORTED_EXTENSIONS
        if required:
            raise FileFormatError(path, f"the file needs glTF extensions r3d does not read: "
                                        f"{sorted(required)}")
        version = str(self.gltf.get("asset", {}).get("version", "2.0"))
        if not version.startswith("2"):
            raise FileFormatError(path, f"glTF version {version} is not supported (2.0 is)")
        self._buffers: dict[int, bytes] = {}

    def _parse_glb(self, data: bytes) -> dict:
        if len(data) < 20:
            raise FileFormatError(self.path, "truncated GLB header")
        _, version, length = struct.unpack_from("<4sII", data, 0)
        if version != 2:
            raise FileFormatError(self.path, f"GLB version {version} is not supported (2 is)")
        if length > len(data):
            raise FileFormatError(self.path, f"the GLB is truncated: the header says {length} "
                                             f"bytes, the file has {len(data)}")
        pos = 12
        doc = None
        while pos + 8 <= length:
            size, kind = struct.unpack_from("<II", data, pos)
            chunk = data[pos + 8 : pos + 8 + size]
            if len(chunk) != size:
                raise FileFormatError(self.path, "the GLB is truncated inside a chunk")
            if kind == _CHUNK_JSON and doc is None:
                try:
                    doc = json.loads(chunk.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise FileFormatError(self.path, f"invalid GLB JSON chunk ({exc})") from None
            elif kind == _CHUNK_BIN and self.bin_chunk is None:
                self.bin_chunk = chunk
            pos += 8 + size + ((4 - size % 4) % 4 if pos + 8 + size < length else 0)
        if doc is None:
            raise FileFormatError(self.path, "the GLB has no JSON chunk")
        return doc

    def _item(self, kind: str, index) -> dict:
        items = self.gltf.get(kind, [])
        if not isinstance(index, int) or not 0 <= index < len(items):
            raise FileFormatError(self.path, f"{kind}[{index}] does not exist "
                                             f"(the file has {len(items)})")
        return items[index]

    def _uri_bytes(self, uri: str) -> bytes:
        if uri.startswith("data:"):
            header, _, payload = uri.partition(",")
            if ";base64" in header:
                return base64.b64decode(payload)
            return urllib.parse.unquote_to_bytes(payload)
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

    def accessor(self, index: int) -> np.ndarray:
        """(count, components) array (float64 for normalized ints, else native)."""
        acc = self._item("accessors", index)
        ctype = acc.get("componentType")
        if ctype not in _COMPONENTS or acc.get("type") not in _TYPE_SIZES:
            raise FileFormatError(self.path, f"accessors[{index}] has an unknown component "
                                             f"type or type ({ctype}, {acc.get('type')})")
        dtype = np.dtype("<" + _COMPONENTS[ctype])
        ncomp = _TYPE_SIZES[acc["type"]]
        count = int(acc.get("count", 0))
        if "bufferView" in acc:
            data, start, length, stride = self.view_bytes(acc["bufferView"])
            offset = start + acc.get("byteOffset", 0)
            elem = dtype.itemsize * ncomp
            stride = stride or elem
            end = offset + (stride * (count - 1) + elem if count else 0)
            if end > start + length:
                raise FileFormatError(self.path, f"accessors[{index}] reads past the end of "
                                                 f"its buffer view")
            arr = np.ndarray((count, ncomp), dtype=dtype, buffer=data, offset=offset,
                             strides=(stride, dtype.itemsize)).copy()
        else:
            arr = np.zeros((count, ncomp), dtype=dtype)
        sparse = acc.get("sparse")
        if sparse:
            n = int(sparse["count"])
            idx_info, val_info = sparse["indices"], sparse["values"]
            idt = np.dtype("<" + _COMPONENTS[idx_info["componentType"]])
            data, start, _, _ = self.view_bytes(idx_info["bufferView"])
            idx = np.frombuffer(data, idt, n, start + idx_info.get("byteOffset", 0))
            data, start, _, _ = self.view_bytes(val_info["bufferView"])
            vals = np.frombuffer(data, dtype, n * ncomp, start + val_info.get("byteOffset", 0))
            arr[idx.astype(np.int64)] = vals.reshape(n, ncomp)
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


def _quat_matrix(q) -> np.ndarray:
    x, y, z, w = (float(c) for c in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _node_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T  # column-major
    m = np.eye(4)
    m[:3, :3] = _quat_matrix(node.get("rotation", [0, 0, 0, 1])) @ np.diag(
        np.asarray(node.get("scale", [1, 1, 1]), np.float64))
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def _primitive_faces(path: str, mode: int, idx: np.ndarray) -> np.ndarray | None:
    if mode == 4:
        if idx.size % 3:
            raise FileFormatError(path, f"a triangle primitive has {idx.size} indices, not a "
                                        f"multiple of 3")
        return idx.reshape(-1, 3)
    if mode == 5:
        k = np.arange(max(idx.size - 2, 0))
        odd = k % 2
        faces = np.stack([idx[k], idx[k + 1 + odd], idx[k + 2 - odd]], axis=1)
    elif mode == 6:
        k = np.arange(1, max(idx.size - 1, 1))
        faces = np.stack([idx[k], idx[k + 1], np.full_like(k, idx[0])], axis=1)
        faces = faces[:, [2, 0, 1]]
    else:
        return None
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (
        faces[:, 0] != faces[:, 2])
    return faces[keep]


def read_gltf(path: str | os.PathLike) -> GltfMesh:
    """Reads the default scene of a glTF/GLB file into one mesh (see :class:`GltfMesh`).

    Raises FileFormatError for malformed files, missing external buffers, indices out of
    range, NaN positions, and scenes without any triangle (e.g. only empty nodes).
    """
    path = os.fspath(path)
    doc = _Document(path)
    g = doc.gltf
    nodes = g.get("nodes", [])
    scenes = g.get("scenes", [])
    if scenes:
        scene = doc._item("scenes", g.get("scene", 0))
        roots = scene.get("nodes", [])
    else:
        children = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    instances: list[tuple[int, np.ndarray]] = []
    stack = [(r, np.eye(4), 0) for r in reversed(roots)]
    while stack:
        index, parent, depth = stack.pop()
        if depth > 1000:
            raise FileFormatError(path, "the node hierarchy has a cycle")
        node = doc._item("nodes", index)
        world = parent @ _node_matrix(node)
        if "mesh" in node:
            instances.append((node["mesh"], world))
        for child in reversed(node.get("children", [])):
            stack.append((child, world, depth + 1))
    if not scenes and not nodes and g.get("meshes"):
        instances = [(i, np.eye(4)) for i in range(len(g["meshes"]))]

    verts, faces, uvs, fuvs, fpatch, colors = [], [], [], [], [], []
    patches: list[torch.Tensor] = []
    patch_of_key: dict = {}
    failed: set = set()
    textured = any_color = any_uv = False
    offset = 0
    for mesh_index, world in instances:
        mesh = doc._item("meshes", mesh_index)
        for prim in mesh.get("primitives", []):
            attrs = prim.get("attributes", {})
            mode = prim.get("mode", 4)
            if "POSITION" not in attrs:
                continue
            if set(prim.get("extensions", {})) & _UNSUPPORTED_EXTENSIONS:
                raise FileFormatError(path, f"a primitive of meshes[{mesh_index}] is compressed "
                                            f"({sorted(prim['extensions'])}), which r3d does "
                                            f"not read")
            pos = doc.accessor(attrs["POSITION"]).astype(np.float64)[:, :3]
            n = pos.shape[0]
            idx = (doc.accessor(prim["indices"]).reshape(-1).astype(np.int64)
                   if "indices" in prim else np.arange(n, dtype=np.int64))
            tri = _primitive_faces(path, mode, idx)
            if tri is None:
                io_warn(path, f"a primitive of mode {mode} (points or lines) was skipped")
                continue
            if tri.size and (tri.min() < 0 or tri.max() >= n):
                raise FileFormatError(path, f"a primitive of meshes[{mesh_index}] has indices "
                                            f"up to {int(tri.max())} but {n} vertices")
            pos = pos @ world[:3, :3].T + world[:3, 3]
            if np.linalg.det(world[:3, :3]) < 0:
                tri = tri[:, [0, 2, 1]]
            material = (doc._item("materials", prim["material"])
                        if "material" in prim else {})
            pbr = material.get("pbrMetallicRoughness", {})
            factor = np.asarray(pbr.get("baseColorFactor", [1, 1, 1, 1]), np.float64)[:3]
            tex_info = pbr.get("baseColorTexture")
            uv = None
            key: tuple = ("color", tuple(factor.tolist()))
            if tex_info is not None:
                source = doc._item("textures", tex_info.get("index")).get("source")
                uv_attr = f"TEXCOORD_{tex_info.get('texCoord', 0)}"
                image_key = ("image", source, tuple(factor.tolist()))
                if source is not None and uv_attr in attrs and image_key not in failed:
                    if image_key not in patch_of_key:
                        try:
                            img = doc.image(source)
                        except Exception as exc:  # missing file or Pillow's many errors
                            io_warn(path, f"images[{source}] could not be read ({exc}); "
                                          f"using the base colour")
                            failed.add(image_key)
                        else:
                            if not np.allclose(factor, 1.0):
                                img = img * torch.tensor(factor, dtype=img.dtype)
                            patch_of_key[image_key] = len(patches)
                            patches.append(img)
                    if image_key in patch_of_key:
                        key = image_key
                        uv = doc.accessor(attrs[uv_attr]).astype(np.float64)[:, :2]
                        if uv.shape[0] != n:
                            raise FileFormatError(path, f"{uv_attr} has {uv.shape[0]} rows "
                                                        f"but POSITION has {n}")
            if key not in patch_of_key:
                patch_of_key[key] = len(patches)
                patches.append(solid_patch(factor))
            if uv is not None:
                textured = any_uv = True
                uv = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)
                uvs.append(uv)
                fuvs.append(tri + offset)
            else:
                uvs.append(np.zeros((n, 2)))
                fuvs.append(np.full(tri.shape, -1, np.int64))
            if "COLOR_0" in attrs:
                col = doc.accessor(attrs["COLOR_0"]).astype(np.float64)[:, :3]
                if col.shape[0] != n:
                    raise FileFormatError(path, f"COLOR_0 has {col.shape[0]} rows but "
                                                f"POSITION has {n}")
                any_color = True
            else:
                col = np.repeat(factor[None], n, axis=0)
            colors.append(col)
            verts.append(pos)
            faces.append(tri + offset)
            fpatch.append(np.full(tri.shape[0], patch_of_key[key], np.int64))
            offset += n
    all_verts = np.concatenate(verts) if verts else np.zeros((0, 3))
    all_faces = np.concatenate(faces) if faces else np.zeros((0, 3), np.int64)
    require_vertices(path, all_verts.shape[0], "mesh vertices (no mesh in the scene)")
    check_finite(path, all_verts, "vertex")
    return GltfMesh(
        verts=all_verts,
        faces=all_faces,
        verts_uvs=np.concatenate(uvs) if any_uv else None,
        faces_uvs=np.concatenate(fuvs) if fuvs else np.zeros((0, 3), np.int64),
        face_patch=np.concatenate(fpatch) if fpatch else np.zeros((0,), np.int64),
        patches=patches,
        verts_colors=np.concatenate(colors) if any_color else None,
        textured=textured,
    )


def gltf_textures(mesh: GltfMesh, device):
    """The texture object for a GltfMesh: TexturesUV if any primitive has an image,
    TexturesVertex if any has COLOR_0, else None."""
    if mesh.textured:
        tex_map, faces_uvs, verts_uvs = build_uv_texture(
            mesh.patches, torch.from_numpy(mesh.face_patch), torch.from_numpy(mesh.faces_uvs),
            torch.from_numpy(mesh.verts_uvs).float(), wrap="repeat",
        )
        return TexturesUV(maps=[tex_map.to(device)], faces_uvs=[faces_uvs.to(device)],
                          verts_uvs=[verts_uvs.float().to(device)])
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


def _pad4(data: bytes, fill: bytes) -> bytes:
    return data + fill * ((4 - len(data) % 4) % 4)


def save_gltf(
    f: str | os.PathLike,
    verts,
    faces,
    *,
    verts_uvs=None,
    faces_uvs=None,
    texture_map=None,
    verts_colors=None,
    binary: bool | None = None,
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
    """
    fn = "save_gltf"
    path = os.fspath(f)
    v = as_float_array(fn, "verts", verts, 3)
    fc = as_index_array(fn, "faces", faces, v.shape[0])
    col = None
    if verts_colors is not None:
        col = as_float_array(fn, "verts_colors", verts_colors, (3, 4))[:, :3]
        if col.shape[0] != v.shape[0]:
            raise InputError(f"{fn}: verts_colors must have {v.shape[0]} rows, got "
                             f"{col.shape[0]}")
    uvs, fuv = as_uv_arrays(fn, verts_uvs, faces_uvs, fc, v.shape[0])
    uv = None
    if uvs is not None:
        pairs = np.stack([fc.reshape(-1), fuv.reshape(-1)], axis=1)
        if fc.size and not np.array_equal(fc, fuv):
            uniq, first, inverse = np.unique(pairs, axis=0, return_index=True,
                                             return_inverse=True)
            order = np.argsort(first, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size)
            uniq = uniq[order]
            v = v[uniq[:, 0]]
            col = None if col is None else col[uniq[:, 0]]
            uv = uvs[uniq[:, 1]]
            fc = rank[inverse.reshape(-1)].reshape(-1, 3)
        else:
            uv = uvs if uvs.shape[0] == v.shape[0] else np.zeros((v.shape[0], 2))
            if uvs.shape[0] != v.shape[0]:
                uv[fc.reshape(-1)] = uvs[fuv.reshape(-1)]
    png = None
    if texture_map is not None:
        if uv is None:
            raise InputError(f"{fn}: texture_map needs verts_uvs")
        png = image_to_png_bytes(texture_map)

    blobs: list[bytes] = []
    views: list[dict] = []
    accessors: list[dict] = []

    def add_view(data: bytes, target: int | None = None) -> int:
        offset = sum(len(b) for b in blobs)
        blobs.append(_pad4(data, b"\x00"))
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        views.append(view)
        return len(views) - 1

    def add_accessor(arr: np.ndarray, ctype: int, kind: str, target: int, minmax=False) -> int:
        acc = {"bufferView": add_view(arr.tobytes(), target), "componentType": ctype,
               "count": int(arr.shape[0]), "type": kind}
        if minmax:
            acc["min"] = arr.min(axis=0).tolist() if arr.size else [0.0] * arr.shape[1]
            acc["max"] = arr.max(axis=0).tolist() if arr.size else [0.0] * arr.shape[1]
        accessors.append(acc)
        return len(accessors) - 1

    attributes = {"POSITION": add_accessor(v.astype("<f4"), 5126, "VEC3", 34962, True)}
    if uv is not None:
        gl_uv = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1).astype("<f4")
        attributes["TEXCOORD_0"] = add_accessor(gl_uv, 5126, "VEC2", 34962)
    if col is not None:
        attributes["COLOR_0"] = add_accessor(np.clip(col, 0, 1).astype("<f4"), 5126, "VEC3",
                                             34962)
    indices = add_accessor(fc.reshape(-1, 1).astype("<u4"), 5125, "SCALAR", 34963)
    primitive = {"attributes": attributes, "indices": indices, "mode": 4}
    gltf: dict = {
        "asset": {"version": "2.0", "generator": "r3d"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
    }
    material = {"pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 1.0}}
    if png is not None:
        gltf["images"] = [{"bufferView": add_view(png), "mimeType": "image/png"}]
        gltf["samplers"] = [{"magFilter": 9729, "minFilter": 9729}]
        gltf["textures"] = [{"sampler": 0, "source": 0}]
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    gltf["materials"] = [material]
    primitive["material"] = 0
    gltf["bufferViews"] = views
    gltf["accessors"] = accessors
    blob = b"".join(blobs)
    if binary is None:
        binary = path.lower().endswith(".glb")
    if binary:
        gltf["buffers"] = [{"byteLength": len(blob)}]
        js = _pad4(json.dumps(gltf, separators=(",", ":")).encode("utf-8"), b" ")
        total = 12 + 8 + len(js) + 8 + len(blob)
        out = (struct.pack("<4sII", _GLB_MAGIC, 2, total)
               + struct.pack("<II", len(js), _CHUNK_JSON) + js
               + struct.pack("<II", len(blob), _CHUNK_BIN) + blob)
        with atomic_open(path, "wb") as handle:
            handle.write(out)
        return
    uri = "data:application/octet-stream;base64," + base64.b64encode(blob).decode("ascii")
    gltf["buffers"] = [{"byteLength": len(blob), "uri": uri}]
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(gltf, handle, indent=1)
