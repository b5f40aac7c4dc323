"""Wavefront OBJ: ``load_obj``, ``load_objs_as_meshes`` and ``save_obj``.

Positions, UVs and normals are indexed separately, as in the file: the loader keeps the file's
vertex order and count and never welds or splits vertices. Supported: ``v`` (optionally with
``r g b`` colours), ``vt``, ``vn``, ``f`` with ``v``, ``v/vt``, ``v//vn``, ``v/vt/vn`` and
trailing slashes, negative (relative) indices, n-gons (fan-triangulated), backslash line
continuation, CRLF, ``mtllib`` / ``usemtl`` with several materials. ``o``, ``g``, ``s``, ``l``
and other statements are ignored.
"""

from __future__ import annotations

import os
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_paths
from r3d.io.mesh_arrays import per_vertex_floats
from r3d.io.mtl import load_mtl
from r3d.io.texturing import (
    CLAMP,
    REPEAT,
    build_face_atlas,
    build_uv_texture,
    saved_wrap,
    solid_patch,
    texture_wraps,
)
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    as_uv_arrays,
    check_finite,
    check_index_range,
    decode_text,
    finite_colors,
    format_floats,
    image_to_png_bytes,
    io_warn,
    is_empty,
    is_file_object,
    parse_numbers,
    read_file_bytes,
    read_source,
    require_faces,
    require_vertices,
    source_name,
    tensor,
    write_output,
)
from r3d.structures import Meshes
from r3d.structures.textures import (
    TexturesAtlas,
    TexturesVertex,
    atlas_barycentric_grid,
)

__all__ = ["Faces", "Aux", "load_obj", "load_objs_as_meshes", "save_obj"]

Faces = namedtuple("Faces", "verts_idx normals_idx textures_idx materials_idx")
Aux = namedtuple(
    "Properties",
    "normals verts_uvs material_colors texture_images texture_atlas verts_colors "
    "texture_wraps",
    defaults=(None, None),
)

_INVALID = -2  # a relative index that points before the first element
_MAX_INDEX = 2**62  # larger indices cannot be held in int64 arrays (nor index a real file)


@dataclass
class _ObjData:
    verts: np.ndarray  # (V, 3) float64
    verts_lines: np.ndarray  # (V,) line of each v
    colors: np.ndarray | None  # (V, 3) or None
    uvs: np.ndarray  # (T, 2)
    normals: np.ndarray  # (N, 3)
    faces_v: np.ndarray  # (F, 3) int64
    faces_t: np.ndarray  # (F, 3) int64, -1 missing
    faces_n: np.ndarray  # (F, 3) int64, -1 missing
    faces_mat: np.ndarray  # (F,) index into usemtl_names, -1 none
    faces_lines: np.ndarray  # (F,) line of each triangle's f statement
    usemtl_names: list[str]
    mtllibs: list[str]


def _resolve_index(path, token: str, count: int, lineno: int, what: str) -> int:
    try:
        value = int(token)
    except ValueError:
        raise FileFormatError(
            path, f"face corner has a {what} index that is not an integer: {token!r}",
            line=lineno,
        ) from None
    if value > _MAX_INDEX:
        raise FileFormatError(path, f"face corner has a {what} index too large for any file: "
                                    f"{value}", line=lineno)
    if value > 0:
        return value - 1
    if value == 0:
        raise FileFormatError(path, f"face corner has {what} index 0 (OBJ counts from 1)",
                              line=lineno)
    resolved = count + value
    if resolved >= 0:
        return resolved
    if what == "vertex":
        raise FileFormatError(path, f"relative vertex index {value} points before the first "
                                    f"vertex ({count} defined so far)", line=lineno)
    return _INVALID


def _parse_obj(path: str, text: str, read_colors: bool, folder: str) -> _ObjData:
    """The statements of an OBJ file's ``text`` (``path`` names it in messages; ``mtllib``
    names with spaces are told apart by looking for them in ``folder``)."""
    verts: list[list[float]] = []
    verts_lines: list[int] = []
    colors: list[list[float] | None] = []
    any_color = False
    uvs: list[list[float]] = []
    normals: list[list[float]] = []
    fv: list[tuple[int, int, int]] = []
    ft: list[tuple[int, int, int]] = []
    fn: list[tuple[int, int, int]] = []
    fmat: list[int] = []
    flines: list[int] = []
    usemtl_names: list[str] = []
    mat_index: dict[str, int] = {}
    mtllibs: list[str] = []
    current_mat = -1

    lines = text.splitlines()
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        lineno = i + 1
        i += 1
        stripped = line.rstrip()
        while stripped.endswith("\\") and i < n:
            stripped = stripped[:-1] + " " + lines[i].rstrip()
            i += 1
        stripped = stripped.strip()
        if not stripped or stripped[0] == "#":
            continue
        parts = stripped.split()
        key = parts[0]
        if key == "v":
            vals = parse_numbers(path, parts[1:], lineno, 3, "v")
            verts.append(vals[:3])
            verts_lines.append(lineno)
            if read_colors:
                if len(vals) >= 6:
                    colors.append(vals[3:6])
                    any_color = True
                else:
                    colors.append(None)
        elif key == "vt":
            vals = parse_numbers(path, parts[1:], lineno, 1, "vt")
            uvs.append([vals[0], vals[1] if len(vals) > 1 else 0.0])
        elif key == "vn":
            vals = parse_numbers(path, parts[1:], lineno, 3, "vn")
            normals.append(vals[:3])
        elif key == "f":
            corners = parts[1:]
            for k, tok in enumerate(corners):
                if tok.startswith("#"):
                    corners = corners[:k]
                    break
            if len(corners) < 3:
                io_warn(path, f"face with {len(corners)} corner(s) skipped (a face needs 3)",
                        lineno)
                continue
            nv, nt, nn = len(verts), len(uvs), len(normals)
            vi, ti, ni = [], [], []
            for tok in corners:
                sub = tok.split("/")
                if len(sub) > 3:
                    raise FileFormatError(path, f"malformed face corner {tok!r}", line=lineno)
                vi.append(_resolve_index(path, sub[0], nv, lineno, "vertex"))
                ti.append(_resolve_index(path, sub[1], nt, lineno, "texture")
                          if len(sub) > 1 and sub[1] else -1)
                ni.append(_resolve_index(path, sub[2], nn, lineno, "normal")
                          if len(sub) > 2 and sub[2] else -1)
            for k in range(1, len(corners) - 1):
                fv.append((vi[0], vi[k], vi[k + 1]))
                ft.append((ti[0], ti[k], ti[k + 1]))
                fn.append((ni[0], ni[k], ni[k + 1]))
                fmat.append(current_mat)
                flines.append(lineno)
        elif key == "usemtl":
            name = stripped[len(key):].strip()
            if not name:
                current_mat = -1
            else:
                if name not in mat_index:
                    mat_index[name] = len(usemtl_names)
                    usemtl_names.append(name)
                current_mat = mat_index[name]
        elif key == "mtllib":
            rest = stripped[len(key):].strip()
            if rest:
                if os.path.isfile(os.path.join(folder, rest)) or len(parts) == 2:
                    mtllibs.append(rest)
                else:
                    mtllibs.extend(parts[1:])
        # o, g, s, l, p, vp, curves and unknown statements are ignored.

    col = None
    if read_colors and any_color:
        if all(c is not None for c in colors):
            col = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
        else:
            missing = sum(c is None for c in colors)
            io_warn(path, f"{missing} of {len(colors)} vertices have no colour; vertex colours "
                          f"ignored")
    return _ObjData(
        verts=np.asarray(verts, dtype=np.float64).reshape(-1, 3),
        verts_lines=np.asarray(verts_lines, dtype=np.int64),
        colors=col,
        uvs=np.asarray(uvs, dtype=np.float64).reshape(-1, 2),
        normals=np.asarray(normals, dtype=np.float64).reshape(-1, 3),
        faces_v=np.asarray(fv, dtype=np.int64).reshape(-1, 3),
        faces_t=np.asarray(ft, dtype=np.int64).reshape(-1, 3),
        faces_n=np.asarray(fn, dtype=np.int64).reshape(-1, 3),
        faces_mat=np.asarray(fmat, dtype=np.int64),
        faces_lines=np.asarray(flines, dtype=np.int64),
        usemtl_names=usemtl_names,
        mtllibs=mtllibs,
    )


def _check_aux_indices(path: str, idx: np.ndarray, count: int, lines: np.ndarray, what: str):
    """Drops (sets to -1) the rows of a UV/normal index array that are incomplete or invalid."""
    if idx.size == 0:
        return idx
    incomplete = (idx == -1).any(axis=1)
    invalid = ((idx < -1) | (idx >= count)).any(axis=1) & ~incomplete
    if invalid.any():
        row = int(np.argmax(invalid))
        io_warn(
            path,
            f"{int(invalid.sum())} face(s) refer to {what}s the file does not have (it has "
            f"{count}); their {what}s are ignored",
            int(lines[row]),
        )
    drop = incomplete | invalid
    if drop.any():
        idx = idx.copy()
        idx[drop] = -1
    return idx


def _obj_folder(f) -> str:
    """The folder an OBJ's relative MTL names resolve against: the file's own, or for a file
    object the current directory (as PyTorch3D does)."""
    return os.getcwd() if is_file_object(f) else os.path.dirname(os.path.abspath(f))


def _read_obj(f, read_colors: bool, strict_colors: bool) -> tuple[str, _ObjData]:
    """The name of ``f`` (a path or file object, :func:`read_source`) and its parsed
    statements, with at least one vertex, all finite (else FileFormatError); its
    ``v x y z r g b`` colours (V, 3) scaled to [0, 1], or None when not read or not finite
    (:func:`finite_colors`)."""
    path, raw, _ = read_source("load_obj", f)
    data = _parse_obj(path, decode_text(raw), read_colors, _obj_folder(f))
    require_vertices(path, data.verts.shape[0], "vertices ('v' lines)", num_bytes=len(raw))
    check_finite(path, data.verts, "vertex", data.verts_lines)
    data.colors = finite_colors(path, data.colors, "colour of vertex", strict_colors,
                                data.verts_lines)
    if data.colors is not None and data.colors.size and data.colors.max() > 1.0:
        data.colors = data.colors / 255.0
    return path, data


def _sole_material(path: str, materials: dict,
                   faces_mat: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The faces' materials and the ``usemtl`` names of a file that has no ``usemtl``: when
    the libraries define one material, every face uses it ((F,) zeros, [its name]);
    otherwise ``faces_mat`` (all -1) and no name, with a warning."""
    if len(materials) == 1:
        return np.zeros_like(faces_mat), list(materials)
    io_warn(path, f"the material libraries define {len(materials)} materials but no usemtl "
                  f"says which faces use which; materials ignored")
    return faces_mat, []


def _material_patches(
    material_colors: dict, images: dict, materials_idx: torch.Tensor, wraps: dict | None,
    texture_wrap: str | None,
) -> tuple[list[torch.Tensor], torch.Tensor, list]:
    """Patches (image or Kd colour per material, white for faces without one), each face's
    patch, and each patch's wrap (the material's, ``wraps`` name -> (u mode, v mode), as
    :func:`texture_wraps` applies ``texture_wrap``)."""
    names = list(material_colors)
    patches = []
    for name in names:
        if name in images:
            patches.append(images[name])
        else:
            patches.append(solid_patch(material_colors[name]["diffuse_color"]))
    own = [(wraps or {}).get(name, REPEAT) for name in names]
    face_patch = materials_idx.clone()
    if bool((face_patch < 0).any()):
        patches.append(solid_patch((1.0, 1.0, 1.0)))
        own.append(REPEAT)
        face_patch[face_patch < 0] = len(patches) - 1
    return patches, face_patch, texture_wraps(own, texture_wrap)


def load_obj(
    f: str | os.PathLike,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    device: str | torch.device = "cpu",
    path_manager=None,
    strict_colors: bool = False,
):
    """Reads an OBJ file (and its MTL files and images).

    Args:
        f: path of the .obj file, or a file object (text or binary, e.g. ``io.StringIO``);
            its MTL names resolve against the current directory, as in PyTorch3D.
        load_textures: read materials, images and vertex colours.
        create_texture_atlas: also sample the materials into a per-face (F, R, R, 3) atlas.
        texture_atlas_size: R.
        texture_wrap: UVs outside [0, 1]: "repeat" (the OBJ convention: they repeat the
            image, unless its MTL says ``map_Kd -clamp on``), "clamp" or None (clamped).
            Applies to the atlas here and to the textures of :func:`load_objs_as_meshes`.
        device: where the returned tensors live.
        path_manager: accepted for PyTorch3D compatibility; unused.
        strict_colors: raise FileFormatError for vertex colours holding NaN or infinity
            (default: drop the colours with a warning).
    Returns:
        verts: (V, 3) float32 positions, in file order.
        faces: ``Faces`` namedtuple:
            verts_idx (F, 3) int64; normals_idx (F, 3) int64 into aux.normals;
            textures_idx (F, 3) int64 into aux.verts_uvs; materials_idx (F,) int64 into
            ``list(aux.material_colors)``. Missing entries are -1.
        aux: ``Properties`` namedtuple:
            normals (N, 3) float32 or None; verts_uvs (T, 2) float32 or None;
            material_colors {name: {"ambient_color": (3,), "diffuse_color": (3,),
            "specular_color": (3,), "shininess": (1,)}} or None when no material was loaded;
            texture_images {name: (H, W, 3) float32 in [0, 1]} or None; texture_atlas
            (F, R, R, 3) or None; verts_colors (V, 3) float32 from ``v x y z r g b`` or None;
            texture_wraps {name: (u mode, v mode)}, each material's TexturesUV padding mode
            (("border", "border") for ``-clamp on``, else ("repeat", "repeat")), or None.

    A file with ``mtllib`` but no ``usemtl`` gives all its faces the library's material
    when it defines exactly one (as PyTorch3D does); with several, which one is meant is
    unknown: the faces get none, with a warning (PyTorch3D raises).

    Raises:
        FileFormatError naming the path and line: unreadable numbers, face indices out of
        range, NaN/infinite positions (or colours, with ``strict_colors``), a file with no
        vertex. Missing MTL or image files only warn; non-finite colours are dropped with a
        warning. Faces whose UV or normal indices point past the file's ``vt``/``vn``
        keep their positions and lose those attributes (with a warning).
    """
    path, data = _read_obj(f, load_textures, strict_colors)
    nverts = data.verts.shape[0]
    check_index_range(path, data.faces_v, nverts, "vertex", data.faces_lines, base=1)
    faces_t = _check_aux_indices(path, data.faces_t, data.uvs.shape[0], data.faces_lines,
                                 "texture coordinate")
    faces_n = _check_aux_indices(path, data.faces_n, data.normals.shape[0], data.faces_lines,
                                 "normal")
    check_finite(path, data.uvs, "texture coordinate")
    check_finite(path, data.normals, "normal")

    material_colors = texture_images = wraps = None
    materials_idx = np.full(data.faces_v.shape[0], -1, dtype=np.int64)
    if load_textures and data.mtllibs:
        materials, images = load_mtl(path, data.mtllibs, folder=_obj_folder(f))
        if materials and not data.usemtl_names:
            data.faces_mat, data.usemtl_names = _sole_material(path, materials, data.faces_mat)
        if materials:
            names = list(materials)
            material_colors = {
                name: {k: torch.tensor(v, dtype=torch.float32, device=device)
                       for k, v in m.colors.items()}
                for name, m in materials.items()
            }
            texture_images = {k: v.to(device) for k, v in images.items()}
            wraps = {name: CLAMP if m.texture_clamp else REPEAT for name, m in materials.items()}
            # usemtl order -> MTL order; the extra last entry maps "no material" (-1) to -1
            lookup = np.array([names.index(u) if u in materials else -1
                               for u in data.usemtl_names] + [-1], dtype=np.int64)
            materials_idx = lookup[data.faces_mat]
            unknown = [u for u in data.usemtl_names if u not in materials]
            if unknown:
                io_warn(path, f"usemtl names materials no MTL file defines: {unknown}")
    elif load_textures and data.usemtl_names:
        io_warn(path, "usemtl is used but no mtllib is given; materials ignored")

    verts = tensor(data.verts, torch.float32, device)
    faces = Faces(
        verts_idx=tensor(data.faces_v, torch.int64, device),
        normals_idx=tensor(faces_n, torch.int64, device),
        textures_idx=tensor(faces_t, torch.int64, device),
        materials_idx=tensor(materials_idx, torch.int64, device),
    )
    normals = tensor(data.normals, torch.float32, device) if data.normals.shape[0] else None
    verts_uvs = tensor(data.uvs, torch.float32, device) if data.uvs.shape[0] else None
    verts_colors = None if data.colors is None else tensor(data.colors, torch.float32, device)

    atlas = None
    if create_texture_atlas:
        atlas = _face_atlas(faces, verts_uvs, verts_colors, material_colors, texture_images,
                            texture_atlas_size, wraps, texture_wrap)
        if atlas is not None:
            atlas = atlas.to(device)
    aux = Aux(
        normals=normals,
        verts_uvs=verts_uvs,
        material_colors=material_colors,
        texture_images=texture_images,
        texture_atlas=atlas,
        verts_colors=verts_colors,
        texture_wraps=wraps,
    )
    return verts, faces, aux


def _face_atlas(faces, verts_uvs, verts_colors, material_colors, images, R, wraps,
                texture_wrap):
    """(F, R, R, 3) atlas from materials, else from vertex colours, else None."""
    cpu = torch.device("cpu")
    if material_colors and bool((faces.materials_idx >= 0).any()):
        imgs = {k: v.to(cpu) for k, v in (images or {}).items()}
        cols = {k: {kk: vv.to(cpu) for kk, vv in v.items()} for k, v in material_colors.items()}
        patches, face_patch, patch_wraps = _material_patches(
            cols, imgs, faces.materials_idx.to(cpu), wraps, texture_wrap)
        return build_face_atlas(
            patches, face_patch, faces.textures_idx.to(cpu),
            None if verts_uvs is None else verts_uvs.to(cpu), R, patch_wraps,
        )
    if verts_colors is not None:
        bary = atlas_barycentric_grid(R, device=verts_colors.device)
        corner_colors = verts_colors[faces.verts_idx]  # (F, 3, 3)
        return torch.einsum("rcj,fjd->frcd", bary, corner_colors)
    return None


def _obj_textures(faces, aux, create_texture_atlas: bool, texture_wrap: str | None):
    """The texture object load_objs_as_meshes attaches to one OBJ's mesh (or None)."""
    if create_texture_atlas:
        return None if aux.texture_atlas is None else TexturesAtlas([aux.texture_atlas])
    mats = aux.material_colors or {}
    used = faces.materials_idx >= 0
    names = list(mats)
    used_names = {names[i] for i in torch.unique(faces.materials_idx[used]).tolist()}
    has_image = any(n in (aux.texture_images or {}) for n in used_names)
    if not has_image and aux.verts_colors is not None:
        return TexturesVertex([aux.verts_colors])
    if not used_names:
        return None
    device = aux.verts_colors.device if aux.verts_colors is not None else faces.verts_idx.device
    cpu = torch.device("cpu")
    imgs = {k: v.to(cpu) for k, v in (aux.texture_images or {}).items()}
    cols = {k: {kk: vv.to(cpu) for kk, vv in v.items()} for k, v in mats.items()}
    patches, face_patch, wraps = _material_patches(
        cols, imgs, faces.materials_idx.to(cpu), aux.texture_wraps, texture_wrap)
    return build_uv_texture(
        patches, face_patch, faces.textures_idx.to(cpu),
        None if aux.verts_uvs is None else aux.verts_uvs.to(cpu), wraps,
    ).to(device)


def load_objs_as_meshes(
    files: list,
    device: str | torch.device | None = None,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    path_manager=None,
    strict_colors: bool = False,
):
    """Loads OBJ files into one batch of :class:`r3d.structures.Meshes`.

    Args:
        files: paths of .obj files, or file objects (one mesh each; see :func:`load_obj`).
        device: where the meshes live (default CPU).
        load_textures: attach textures.
        create_texture_atlas: use a per-face :class:`TexturesAtlas` (R = texture_atlas_size).
        texture_wrap: UVs outside [0, 1] (see :func:`load_obj`): a single material's
            image keeps its wrap as the TexturesUV's padding_mode; several materials are
            packed with each one's wrap resolved first (see
            :func:`r3d.io.texturing.build_uv_texture`).
        strict_colors: see :func:`load_obj`.
    Returns:
        Meshes with N = len(files): verts (V_i, 3), faces (F_i, 3). Textures:
        :class:`TexturesUV` when faces use materials (all materials a mesh uses, images and
        plain ``Kd`` colours, are packed into one map and the UVs remapped; a single image is
        used as is); :class:`TexturesVertex` for ``v x y z r g b`` colours (when no material
        has an image); None when the files have neither. If only some meshes of the batch
        have textures, or their kinds differ, textures are dropped with a warning.

    Raises FileFormatError for unreadable files, files without vertices, and files without
    faces (load those as point clouds).
    """
    if isinstance(files, (str, os.PathLike)) or is_file_object(files):
        files = [files]
    device = torch.device("cpu") if device is None else torch.device(device)
    verts_list, faces_list, tex_list = [], [], []
    for f in files:
        verts, faces, aux = load_obj(
            f, load_textures=load_textures, create_texture_atlas=create_texture_atlas,
            texture_atlas_size=texture_atlas_size, texture_wrap=texture_wrap, device=device,
            strict_colors=strict_colors,
        )
        require_faces(source_name(f), verts.shape[0], faces.verts_idx.shape[0])
        verts_list.append(verts)
        faces_list.append(faces.verts_idx)
        tex_list.append(_obj_textures(faces, aux, create_texture_atlas, texture_wrap)
                        if load_textures else None)
    textures = _join_textures(tex_list, files)

    return Meshes(verts=verts_list, faces=faces_list, textures=textures)


def _join_textures(tex_list: list, files: list):
    if all(t is None for t in tex_list):
        return None
    kinds = {type(t) for t in tex_list}
    if len(kinds) > 1:
        io_warn(source_name(files[0]), "the files of this batch have different kinds of "
                                       "texture (or none); textures dropped")
        return None
    if len(tex_list) == 1:
        return tex_list[0]
    try:
        return tex_list[0].join_batch(tex_list[1:])
    except InputError as exc:
        io_warn(source_name(files[0]), f"textures of this batch cannot be joined ({exc}); "
                                       f"textures dropped")
        return None


def save_obj(
    f,
    verts,
    faces,
    decimal_places: int | None = None,
    path_manager=None,
    *,
    normals=None,
    faces_normals_idx=None,
    verts_uvs=None,
    faces_uvs=None,
    texture_map=None,
    faces_normals=None,
    verts_colors=None,
    texture_wrap="repeat",
) -> None:
    """Writes a mesh to an OBJ file, with an MTL and a PNG beside it if textured.

    Args:
        f: path of the .obj file, written atomically (``<stem>.mtl`` and ``<stem>.png`` are
            written next to it when ``texture_map`` is given); or a file object (text or
            binary), written directly, for meshes without ``texture_map``.
        verts: (V, 3) float positions.
        faces: (F, 3) int vertex indices; an empty tensor (``torch.tensor([])``) for none.
            Index arguments may be float tensors of whole numbers (they are cast).
        decimal_places: digits after the point (default: enough for float32 exactness).
        normals: (N, 3) float normals; faces_normals_idx (alias faces_normals): (F, 3) int
            indices into them.
        verts_uvs: (T, 2) float UVs; faces_uvs: (F, 3) int indices into them (if omitted and
            T == V, the UVs are per vertex).
        texture_map: (H, W, 3) float image in [0, 1] (row 0 at the top).
        verts_colors: (V, 3) float colours in [0, 1], written as ``v x y z r g b`` (None or
            an empty tensor: none).
        texture_wrap: how the texture wraps UVs outside [0, 1], a TexturesUV padding mode
            (e.g. ``textures.padding_mode``): "border" on both axes is written as
            ``map_Kd -clamp on``; anything else repeats (MTL cannot store mirroring, zeros or
            one mode per axis: those are written as repeat, with a warning).

    Raises InputError for bad shapes, indices out of range or NaN/infinite values; nothing is
    written then.
    """
    fn = "save_obj"
    path = source_name(f)
    v = as_float_array(fn, "verts", verts, 3)
    fc = as_index_array(fn, "faces", faces, v.shape[0])
    if faces_normals is not None and faces_normals_idx is None:
        faces_normals_idx = faces_normals
    col = (None if is_empty(verts_colors)
           else per_vertex_floats(fn, "verts_colors", verts_colors, 3, v.shape[0]))
    nrm = fnrm = None
    if (normals is None) != (faces_normals_idx is None):
        raise InputError(f"{fn}: normals and faces_normals_idx must be given together")
    if normals is not None:
        nrm = as_float_array(fn, "normals", normals, 3)
        fnrm = as_index_array(fn, "faces_normals_idx", faces_normals_idx, nrm.shape[0])
        if fnrm.shape[0] != fc.shape[0]:
            raise InputError(f"{fn}: faces_normals_idx must have {fc.shape[0]} rows, got "
                             f"{fnrm.shape[0]}")
    uv, fuv = as_uv_arrays(fn, verts_uvs, faces_uvs, fc, v.shape[0])
    wrap = saved_wrap(fn, texture_wrap)
    png = None
    if texture_map is not None:
        if uv is None:
            raise InputError(f"{fn}: texture_map needs verts_uvs (and faces_uvs)")
        if is_file_object(f):
            raise InputError(f"{fn}: a texture_map is written to an MTL and a PNG beside the "
                             f"OBJ, so f must be a path, got the file object {path}")
        png = image_to_png_bytes(texture_map)

    stem = os.path.splitext(os.path.basename(path))[0]
    out: list[str] = []
    if png is not None:
        out.append(f"mtllib {stem}.mtl")
        out.append("usemtl mesh")
    vrows = format_floats(np.concatenate([v, col], axis=1) if col is not None else v,
                          decimal_places)
    out.extend("v " + r for r in vrows)
    if uv is not None:
        out.extend("vt " + r for r in format_floats(uv, decimal_places))
    if nrm is not None:
        out.extend("vn " + r for r in format_floats(nrm, decimal_places))
    fc1 = (fc + 1).tolist()
    if uv is not None and nrm is not None:
        rows = zip(fc1, (fuv + 1).tolist(), (fnrm + 1).tolist())
        out.extend("f " + " ".join(f"{a}/{b}/{c}" for a, b, c in zip(*r)) for r in rows)
    elif uv is not None:
        out.extend("f " + " ".join(f"{a}/{b}" for a, b in zip(*r))
                   for r in zip(fc1, (fuv + 1).tolist()))
    elif nrm is not None:
        out.extend("f " + " ".join(f"{a}//{b}" for a, b in zip(*r))
                   for r in zip(fc1, (fnrm + 1).tolist()))
    else:
        out.extend(f"f {a} {b} {c}" for a, b, c in fc1)
    obj_text = "\n".join(out) + "\n"
    if png is None:
        write_output(fn, f, obj_text.encode("utf-8"))
        return

    folder = os.path.dirname(path)
    targets = [path, os.path.join(folder, f"{stem}.mtl"), os.path.join(folder, f"{stem}.png")]
    mtl = (
        "newmtl mesh\n"
        f"map_Kd {_mtl_clamp(path, wrap)}{stem}.png\n"
        "Ka 1.000000 1.000000 1.000000\n"
        "Kd 1.000000 1.000000 1.000000\n"
        "Ks 0.000000 0.000000 0.000000\n"
        "Ns 10.000000\n"
        "illum 2\n"
    )
    with atomic_paths(*targets) as temps:
        for temp, data in zip(temps, (obj_text.encode("utf-8"), mtl.encode("utf-8"), png)):
            with open(temp, "wb") as handle:
                handle.write(data)


def _mtl_clamp(path: str, wrap) -> str:
    """The ``-clamp on `` option of a map_Kd statement for a (u mode, v mode) wrap, or ""."""
    if wrap == CLAMP:
        return "-clamp on "
    if wrap != REPEAT:
        io_warn(path, f"MTL files store a texture's wrap as repeat or clamp (both axes); "
                      f"{wrap} is written as repeat")
    return ""


def load_obj_pointcloud(path: str | os.PathLike, device="cpu", strict_colors: bool = False):
    """The vertices of an OBJ file as points (faces, materials and images are not read).

    Returns:
        points (P, 3) float32 and colours (P, 3) float32 in [0, 1] from ``v x y z r g b``, or
        None (also when they hold NaN or infinity: dropped with a warning, or FileFormatError
        with ``strict_colors``).
    """
    _, data = _read_obj(path, True, strict_colors)
    colors = None if data.colors is None else tensor(data.colors, torch.float32, device)
    return tensor(data.verts, torch.float32, device), colors


def obj_has_faces(path: str | os.PathLike) -> bool:
    """Whether an OBJ file holds at least one face with 3 or more corners."""
    path = os.fspath(path)
    text = decode_text(read_file_bytes(path))
    return _parse_obj(path, text, False, _obj_folder(path)).faces_v.shape[0] > 0


def save_obj_pointcloud(path: str | os.PathLike, points, colors=None,
                        decimal_places: int | None = None) -> None:
    """Writes points (P, 3) (and colours (P, 3) in [0, 1]) as OBJ ``v`` lines, atomically."""
    p = as_float_array("save_pointcloud", "points", points, 3)
    save_obj(path, p, np.zeros((0, 3), np.int64), decimal_places, verts_colors=colors)
