"""Seed inputs: small files generated for each format with r3d's own writers (and a few written
out by hand, for the features the writers do not use), the files of the seed folders that match
a format, and the regression files of tests/data/fuzz/<format>/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from fuzzing.formats import FORMATS, Format, _cube, textured_obj, view_images
from r3d.io import VoxelGrid, save_binvox, save_gltf, save_off, save_ply, save_stl, save_voxels_npz

__all__ = ["REPO", "REGRESSIONS", "default_seed_folders", "seeds"]

REPO = Path(__file__).resolve().parents[2]
REGRESSIONS = REPO / "tests" / "data" / "fuzz"

_HAND_WRITTEN = {
    "obj": [
        b"# groups, negative and v/vt/vn indices, vertex colours, a polygon, lines, points\n"
        b"mtllib model.mtl\no thing\nv 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 1 1 0 0 0 1\n"
        b"v 0 1 0 1 1 1\nv 0 0 1 0.5 0.5 0.5\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 0 0 1\n"
        b"g side\nusemtl material_0\nf -5/-4/-1 -4/-3/-1 -3/-2/-1 -2/-1/-1\ns off\n"
        b"f 1//1 2//1 5//1\nf 2 3 5\nl 1 2 3\np 4\n",
    ],
    "mtl": [
        b"newmtl material_0\nKa 0.1 0.1 0.1\nKd 0.5 0.6 0.7\nKs 1 1 1\nNs 10\nd 0.9\nillum 2\n"
        b"map_Kd -clamp on -s 1 1 1 -o 0 0 0 model.png\nnewmtl other\nKd 1 0 0\n",
    ],
    "ply_ascii": [
        b"ply\nformat ascii 1.0\ncomment tex TextureFile model.png\nelement vertex 4\n"
        b"property float x\nproperty float y\nproperty float z\nproperty float u\n"
        b"property float v\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
        b"element face 2\nproperty list uchar int vertex_indices\nend_header\n"
        b"0 0 0 0 0 255 0 0\n1 0 0 1 0 0 255 0\n1 1 0 1 1 0 0 255\n0 1 0 0 1 9 9 9\n"
        b"3 0 1 2\n4 0 1 2 3\n",
        b"ply\nformat ascii 1.0\nelement vertex 4\nproperty double x\nproperty double y\n"
        b"property double z\nelement tristrips 1\nproperty list int int vertex_indices\n"
        b"end_header\n0 0 0\n1 0 0\n0 1 0\n1 1 1\n5 0 1 2 -1 3\n",
    ],
    "off": [
        b"COFF\n# comment\n4 2 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 255\n"
        b"0 0 1 1 1 1 1\n3 0 1 2\n4 0 1 2 3 0.5 0.5 0.5\n",
        b"NOFF\n3 1 3\n0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0 0 1\n3 0 1 2\n",
    ],
    "transforms_json": [
        b'{"camera_angle_x": 0.8, "w": 8, "h": 8, "frames": [\n'
        b' {"file_path": "view_000", "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0],'
        b' [0, 0, 1, 3], [0, 0, 0, 1]]},\n'
        b' {"file_path": "./view_001.png", "fl_x": 10, "fl_y": 11, "cx": 4, "cy": 4,'
        b' "transform_matrix": [[0, 0, 1, 3], [0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1]]}]}\n',
    ],
    "scene": [
        b"meshes:\n  - file: mesh.obj\n    normalize: true\ncameras:\n  fov: 60\n"
        b"  turntable: {views: 2, dist: 2.5, elev: 10, azim: 0}\n"
        b"lights: {type: point, location: [0, 1, 0]}\nmaterial: {shininess: 32}\n"
        b"image_size: 16\nbackground: [1, 1, 1]\noutputs: {png: true, gif: false}\n",
        b"meshes:\n  - file: mesh.obj\n    colour: '#ff8800'\ncameras:\n"
        b"  look_at: {dist: 3, elev: 30, azim: 90}\nshader: soft_silhouette\n"
        b"image_size: [8, 12]\n",
    ],
    "binvox": [b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n\x00\x04\x01\x04"],
}


def _written(folder: Path, name: str, write) -> bytes:
    write(folder / name)
    return (folder / name).read_bytes()


def _generated(folder: Path) -> dict[str, list[bytes]]:
    """Seeds written by r3d's writers into ``folder``, by format."""
    verts, faces = _cube()
    colours = verts.clone()
    normals = verts - 0.5
    textured_obj(folder)
    view_images(folder / "views")
    out = {
        "obj": [(folder / "model.obj").read_bytes()],
        "mtl": [(folder / "model.mtl").read_bytes()],
        "cameras_json": [(folder / "views" / "cameras.json").read_bytes()],
    }
    for name, options in (("ply_ascii", {"ascii": True}), ("ply_le", {}),
                          ("ply_be", {"big_endian": True})):
        out[name] = [
            _written(folder, f"{name}.ply", lambda p, o=options: save_ply(
                p, verts, faces, normals, verts_colors=colours, **o)),
            _written(folder, f"{name}_points.ply", lambda p, o=options: save_ply(
                p, verts, verts_colors=colours, colors_as_uint8=True, **o)),
        ]
    out["off"] = [_written(folder, "m.off", lambda p: save_off(p, verts, faces, colours))]
    out["stl_ascii"] = [_written(folder, "a.stl", lambda p: save_stl(p, verts, faces, True))]
    out["stl_binary"] = [_written(folder, "b.stl", lambda p: save_stl(p, verts, faces))]
    texture = torch.rand(4, 4, 3, generator=torch.Generator().manual_seed(0))
    for name, file in (("gltf", "m.gltf"), ("glb", "m.glb")):
        out[name] = [
            _written(folder, file, lambda p: save_gltf(
                p, verts, faces, verts_uvs=verts[:, :2], faces_uvs=faces, texture_map=texture)),
            _written(folder, "c" + file, lambda p: save_gltf(
                p, verts, faces, verts_colors=colours, verts_normals=normals)),
        ]
    grid = VoxelGrid(torch.rand(3, 3, 3, generator=torch.Generator().manual_seed(1)))
    coloured = VoxelGrid(grid.densities, features=torch.rand(3, 3, 3, 3))
    out["binvox"] = [_written(folder, "g.binvox", lambda p: save_binvox(p, grid, 0.5))]
    out["voxels_npz"] = [
        _written(folder, "g.npz", lambda p: save_voxels_npz(p, coloured)),
        _written(folder, "u.npz", lambda p: save_voxels_npz(p, grid, compressed=False)),
    ]
    for name, docs in _HAND_WRITTEN.items():
        out.setdefault(name, []).extend(docs)
    return out


def default_seed_folders() -> list[Path]:
    """The repository's test data and recipes, and ../shared/data/meshes beside the repository
    when it is there."""
    shared = REPO.parent / "shared" / "data" / "meshes"
    return [REPO / "tests" / "data", REPO / "recipes"] + ([shared] if shared.is_dir() else [])


def _folder_seeds(fmt: Format, folders: list[Path], max_bytes: int) -> list[tuple[str, bytes]]:
    found: dict[Path, None] = {}
    for folder in folders:
        for pattern in fmt.seed_files:
            found.update(dict.fromkeys(p for p in sorted(folder.rglob(pattern))
                                       if REGRESSIONS not in p.parents))
    seeds = []
    for path in found:
        if path.is_file() and path.stat().st_size <= max_bytes:
            data = path.read_bytes()
            if fmt.accepts(data):
                seeds.append((str(path), fmt.rewrite(data)))
    return seeds


def seeds(names: list[str], folders: list[Path], max_bytes: int) -> dict[str, list[tuple[str,
                                                                                         bytes]]]:
    """{format: [(seed name, bytes)]}: generated seeds, the seed folders' files of at most
    ``max_bytes`` that match the format, and the format's regression files."""
    with tempfile.TemporaryDirectory(prefix="r3d-fuzz-seeds-") as tmp:
        generated = _generated(Path(tmp))
    out = {}
    for name in names:
        fmt = FORMATS[name]
        own = [(f"generated:{name}:{i}", data) for i, data in enumerate(generated.get(name, []))]
        regressions = sorted((REGRESSIONS / name).glob("*")) if (REGRESSIONS / name).is_dir() \
            else []
        out[name] = own + _folder_seeds(fmt, folders, max_bytes) + [
            (str(p), p.read_bytes()) for p in regressions if p.is_file()]
    return out
