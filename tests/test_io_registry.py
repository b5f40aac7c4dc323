"""The IO registry (formats by extension) and atomic saving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io import IO, MeshFormatInterpreter, atomic_open, atomic_paths, save_obj, save_ply
from r3d.renderer import TexturesVertex
from r3d.structures import Meshes, Pointclouds

DATA = Path(__file__).parent / "data"


def _tetra(colors: bool = False) -> Meshes:
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    faces = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    tex = TexturesVertex([torch.rand(4, 3)]) if colors else None
    return Meshes(verts=[verts], faces=[faces], textures=tex)


@pytest.mark.parametrize("ext", [".obj", ".ply", ".off", ".stl", ".glb", ".gltf", ".PLY",
                                 ".Obj"])
def test_save_load_every_mesh_format(tmp_path, ext):
    mesh = _tetra()
    path = tmp_path / f"t{ext}"
    IO().save_mesh(mesh, path)
    back = IO().load_mesh(path)
    v0, f0 = mesh.verts_packed(), mesh.faces_packed()
    v1, f1 = back.verts_packed(), back.faces_packed()
    assert torch.equal(v1[f1], v0[f0])
    if ext.lower() != ".stl":
        assert torch.equal(v1, v0) and torch.equal(f1, f0)


@pytest.mark.parametrize("ext", [".obj", ".ply", ".off", ".glb"])
def test_vertex_colours_survive(tmp_path, ext):
    mesh = _tetra(colors=True)
    IO().save_mesh(mesh, tmp_path / f"c{ext}")
    back = IO().load_mesh(tmp_path / f"c{ext}")
    assert isinstance(back.textures, TexturesVertex)
    assert torch.allclose(back.textures.verts_features_list()[0],
                          mesh.textures.verts_features_list()[0], atol=1e-6)
    assert IO().load_mesh(tmp_path / f"c{ext}", include_textures=False).textures is None


@pytest.mark.parametrize("name", ["cow/cow.obj", "cow.glb", "color.ply", "cube.off",
                                  "teapot.stl"])
def test_load_on_device(device, name):
    mesh = IO().load_mesh(DATA / name, device=device)
    assert mesh.verts_packed().device.type == torch.device(device).type
    if mesh.textures is not None:
        assert mesh.textures.device.type == torch.device(device).type
    cpu = IO().load_mesh(DATA / name)
    assert torch.equal(mesh.verts_packed().cpu(), cpu.verts_packed())


def test_ply_ascii_via_binary_flag(tmp_path):
    IO().save_mesh(_tetra(), tmp_path / "a.ply", binary=False)
    assert b"format ascii" in (tmp_path / "a.ply").read_bytes()


def test_pointclouds(tmp_path):
    cloud = Pointclouds(points=[torch.rand(10, 3)], features=[torch.rand(10, 3)])
    for ext in (".ply", ".obj", ".off"):
        IO().save_pointcloud(cloud, tmp_path / f"p{ext}")
        back = IO().load_pointcloud(tmp_path / f"p{ext}")
        assert torch.allclose(back.points_list()[0], cloud.points_list()[0])
        assert torch.allclose(back.features_list()[0], cloud.features_list()[0], atol=1 / 510)
        assert not IO().file_has_faces(tmp_path / f"p{ext}")
    assert IO().file_has_faces(DATA / "tet.ply") and IO().file_has_faces(DATA / "cube.off")


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"unknown mesh file extension \('\.xyz'\).*"
                                              r"\.glb, \.gltf, \.obj, \.off, \.ply, \.stl"):
        IO().load_mesh(tmp_path / "a.xyz")
    with pytest.raises(FileFormatError, match="no extension"):
        IO().save_mesh(_tetra(), tmp_path / "noext")
    with pytest.raises(FileFormatError, match=r"point cloud formats: \.obj, \.off, \.ply"):
        IO().load_pointcloud(tmp_path / "a.stl")
    for missing in (IO().load_mesh, IO().load_pointcloud, IO().file_has_faces):
        with pytest.raises(FileNotFoundError, match="no such file") as info:
            missing(tmp_path / "missing.ply")
        assert info.value.filename == str(tmp_path / "missing.ply")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_named_as_one(tmp_path):
    (tmp_path / "scans.ply").mkdir()
    for path in (tmp_path, tmp_path / "scans.ply"):  # with and without a known extension
        for load in (IO().load_mesh, IO().load_pointcloud, IO().file_has_faces):
            with pytest.raises(IsADirectoryError, match="is a directory") as info:
                load(path)
            assert info.value.filename == str(path)


def test_register_user_format(tmp_path):
    class Xyz(MeshFormatInterpreter):
        extensions = (".xyz",)

        def read(self, path, include_textures, device, **kwargs):
            return _tetra()

    io = IO()
    io.register_meshes_format(Xyz())
    (tmp_path / "a.XYZ").write_text("anything")
    assert io.load_mesh(tmp_path / "a.XYZ").verts_packed().shape == (4, 3)
    assert ".xyz" in io.mesh_extensions
    with pytest.raises(FileFormatError, match="saving .xyz meshes is not supported"):
        io.save_mesh(_tetra(), tmp_path / "b.xyz")
    with pytest.raises(InputError, match="extensions"):
        io.register_meshes_format(MeshFormatInterpreter())
    with pytest.raises(FileFormatError, match="unknown"):
        IO(include_default_formats=False).load_mesh(DATA / "tet.ply")


def test_save_mesh_needs_one_mesh(tmp_path):
    two = Meshes(verts=[torch.rand(3, 3)] * 2, faces=[torch.tensor([[0, 1, 2]])] * 2)
    with pytest.raises(InputError, match="exactly 1"):
        IO().save_mesh(two, tmp_path / "two.obj")
    assert list(tmp_path.iterdir()) == []


# -- atomic writes -------------------------------------------------------------------------


def test_atomic_paths_commit_and_rollback(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    with pytest.raises(RuntimeError):
        with atomic_paths(a, b) as (ta, tb):
            Path(ta).write_text("new a")
            Path(tb).write_text("new b")
            raise RuntimeError("writer failed half-way")
    assert a.read_text() == "old a" and sorted(os.listdir(tmp_path)) == ["a.txt"]
    with atomic_paths(a, b) as (ta, tb):
        Path(ta).write_text("new a")
        Path(tb).write_text("new b")
    assert a.read_text() == "new a" and b.read_text() == "new b"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    with pytest.raises(FileFormatError, match="does not exist"):
        with atomic_open(tmp_path / "no" / "c.txt", "w"):
            pass


def test_atomic_open_keeps_permissions(tmp_path):
    path = tmp_path / "p.txt"
    with atomic_open(path, "w") as handle:
        handle.write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_writer_failure_leaves_no_file(tmp_path, monkeypatch):
    """A failure inside the writers (after validation) leaves nothing behind."""
    import r3d.io.obj as obj_module

    real_open = open
    calls = []

    def failing_open(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the .mtl, after the .obj was written
            raise OSError("disk full")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(obj_module, "open", failing_open, raising=False)
    out = tmp_path / "m.obj"
    out.write_text("previous")
    with pytest.raises(FileFormatError, match="cannot write: disk full"):
        save_obj(out, torch.rand(3, 3), torch.tensor([[0, 1, 2]]), verts_uvs=torch.rand(3, 2),
                 texture_map=torch.rand(2, 2, 3))
    assert out.read_text() == "previous" and os.listdir(tmp_path) == ["m.obj"]


@pytest.mark.parametrize(
    "verts, faces",
    [
        (torch.tensor([[0.0, 0, 0], [1, float("nan"), 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]])),
        (torch.rand(3, 4), torch.tensor([[0, 1, 2]])),
        (torch.rand(3, 3), torch.tensor([[0, 1, 3]])),
        (torch.rand(3, 3), torch.tensor([0, 1, 2])),
    ],
)
@pytest.mark.parametrize("ext", [".obj", ".ply", ".off", ".stl", ".glb"])
def test_bad_input_writes_nothing(tmp_path, verts, faces, ext):
    target = tmp_path / f"x{ext}"
    target.write_bytes(b"keep me")
    with pytest.raises(InputError):
        if ext == ".ply":
            save_ply(target, verts, faces)
        else:
            from r3d.io import save_gltf, save_off, save_stl

            writer = {".obj": save_obj, ".off": save_off, ".stl": save_stl,
                      ".glb": save_gltf}[ext]
            writer(target, verts, faces)
    assert target.read_bytes() == b"keep me" and os.listdir(tmp_path) == [target.name]
