"""trimesh as IO's fallback for formats r3d has no parser of its own for (3MF, COLLADA, zip
archives, XYZ points), and r3d's own loaders checked against trimesh on the test meshes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import FileFormatError
from r3d.io import IO, save_ply
from r3d.io.trimesh_formats import LOADED_BY
from r3d.renderer import TexturesUV, TexturesVertex
from r3d.structures import Meshes, Pointclouds

DATA = Path(__file__).parent / "data"
runner = CliRunner()

TET_VERTS = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
TET_FACES = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def _tetra(colors: bool = False) -> Meshes:
    tex = TexturesVertex([torch.rand(4, 3)]) if colors else None
    return Meshes(verts=[TET_VERTS], faces=[TET_FACES], textures=tex)


def _zip(path: Path, *members: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.write(member, member.name)
    return path


def _triangles(verts, faces) -> list:
    """The mesh's triangles as corner positions (float32), each rotated to start at its
    smallest corner (orientation kept), sorted: equal for two meshes with the same triangles
    in any order and any vertex numbering."""
    corners = np.asarray(verts, np.float32)[np.asarray(faces)]
    return sorted(min(tuple(map(tuple, np.roll(t, -k, axis=0))) for k in range(3))
                  for t in corners)


def _corners(mesh: Meshes) -> torch.Tensor:
    return mesh.verts_packed()[mesh.faces_packed()]


# -- registry ----------------------------------------------------------------------------------


def test_extensions_and_who_loads_them():
    io = IO()
    assert {".3mf", ".dae", ".zae", ".zip"} <= set(io.mesh_extensions)
    assert {".xyz", ".zip"} <= set(io.pointcloud_extensions)
    for ext in (".obj", ".ply", ".off", ".stl", ".glb", ".gltf"):  # r3d's own parsers win
        assert io.loaded_by(f"m{ext}") == "r3d"
    for ext in (".3mf", ".dae", ".zae", ".zip"):
        assert io.loaded_by(f"m{ext}") == LOADED_BY
    assert io.loaded_by("c.xyz", "pointcloud") == LOADED_BY
    assert io.loaded_by("c.ply", "pointcloud") == "r3d"
    assert io.loaded_by("g.binvox", "voxels") == "r3d"


def test_import_r3d_does_not_import_trimesh():
    code = "import sys, r3d, r3d.io; sys.exit('trimesh' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# -- saving and loading through trimesh --------------------------------------------------------


@pytest.mark.parametrize("name", ["tet.ply", "cow/cow.obj", "rabbit.obj"])
def test_3mf_round_trip_keeps_vertices_and_faces(tmp_path, name):
    mesh = IO().load_mesh(DATA / name, include_textures=False)
    IO().save_mesh(mesh, tmp_path / "m.3mf")
    back = IO().load_mesh(tmp_path / "m.3mf")
    assert torch.equal(back.verts_packed(), mesh.verts_packed())
    assert torch.equal(back.faces_packed(), mesh.faces_packed())


@pytest.mark.parametrize("name", ["tet.ply", "cow/cow.obj", "rabbit.obj"])
def test_collada_round_trip_keeps_triangles(tmp_path, name):
    # trimesh's COLLADA loader merges vertices at equal positions whatever process= says, so
    # the vertex numbering may change; the triangles (corner positions, in order) do not
    mesh = IO().load_mesh(DATA / name, include_textures=False)
    IO().save_mesh(mesh, tmp_path / "m.dae")
    back = IO().load_mesh(tmp_path / "m.dae")
    assert back.faces_packed().shape == mesh.faces_packed().shape
    torch.testing.assert_close(_corners(back), _corners(mesh), atol=1e-6, rtol=1e-6)


def test_zae_is_a_zipped_collada(tmp_path):
    IO().save_mesh(_tetra(), tmp_path / "t.dae")
    back = IO().load_mesh(_zip(tmp_path / "t.zae", tmp_path / "t.dae"))
    assert torch.equal(_corners(back), _corners(_tetra()))


@pytest.mark.parametrize("ext", [".3mf", ".glb"])
def test_scene_nodes_are_placed_and_joined(tmp_path, ext):
    tet = trimesh.Trimesh(TET_VERTS.double().numpy(), TET_FACES.numpy(), process=False)
    moves = [trimesh.transformations.translation_matrix([5.0, 0, 0]),
             trimesh.transformations.rotation_matrix(np.pi / 2, [0, 0, 1])]
    scene = trimesh.Scene()
    for i, move in enumerate(moves):
        scene.add_geometry(tet, node_name=f"n{i}", geom_name=f"g{i}", transform=move)
    path = tmp_path / f"s{ext}"
    path.write_bytes(scene.export(file_type=ext[1:]))
    back = IO().load_mesh(path if ext == ".3mf" else _zip(tmp_path / "s.zip", path))
    want = []
    for move in moves:
        placed = trimesh.transform_points(TET_VERTS.double().numpy(), move)
        want += _triangles(placed, TET_FACES.numpy())
    assert back.faces_packed().shape[0] == 8
    got = _triangles(back.verts_packed(), back.faces_packed())
    np.testing.assert_allclose(np.array(got), np.array(sorted(want)), atol=1e-6)


def test_saving_textures_through_trimesh_warns(tmp_path):
    with pytest.warns(UserWarning, match="textures not saved"):
        IO().save_mesh(_tetra(colors=True), tmp_path / "c.3mf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        IO().save_mesh(_tetra(colors=True), tmp_path / "c.3mf", include_textures=False)


@pytest.mark.parametrize("ext", [".zip", ".zae"])
def test_archives_cannot_be_saved(tmp_path, ext):
    with pytest.raises(FileFormatError, match=f"saving \\{ext} meshes is not supported"):
        IO().save_mesh(_tetra(), tmp_path / f"m{ext}")
    assert not list(tmp_path.iterdir())


def test_a_failed_export_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "m.3mf"
    target.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(trimesh.Trimesh, "export", broken)
    with pytest.raises(FileFormatError, match="exporter broke") as info:
        IO().save_mesh(_tetra(), target)
    assert info.value.path == os.fspath(target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.3mf"]


# -- zip archives of files r3d reads itself ----------------------------------------------------


@pytest.mark.parametrize("name", ["color.ply", "tet.ply", "teapot.stl", "cubevc.glb",
                                  "BoxTextured.glb"])
def test_zip_loads_equal_to_the_plain_file(tmp_path, name):
    plain = IO().load_mesh(DATA / name)
    zipped = IO().load_mesh(_zip(tmp_path / "a.zip", DATA / name))
    assert torch.equal(zipped.verts_packed(), plain.verts_packed())
    assert torch.equal(zipped.faces_packed(), plain.faces_packed())
    assert type(zipped.textures) is type(plain.textures)
    if isinstance(plain.textures, TexturesVertex):
        assert torch.equal(zipped.textures.verts_features_list()[0],
                           plain.textures.verts_features_list()[0])


def _uv_corners(tex: TexturesUV) -> torch.Tensor:
    return tex.verts_uvs_list()[0][tex.faces_uvs_list()[0]]


def test_zip_with_textured_obj_mtl_and_image(tmp_path):
    # trimesh splits the OBJ's vertices by (v, vt) pair: 2,930 positions become 3,225
    # vertices; the face corners keep their positions, UVs and the image
    plain = IO().load_mesh(DATA / "cow" / "cow.obj")
    zipped = IO().load_mesh(_zip(tmp_path / "cow.zip", *(DATA / "cow").iterdir()))
    assert zipped.verts_packed().shape[0] == 3225
    assert torch.equal(_corners(zipped), _corners(plain))
    assert isinstance(zipped.textures, TexturesUV)
    assert torch.equal(_uv_corners(zipped.textures), _uv_corners(plain.textures))
    assert torch.equal(zipped.textures.maps_list()[0], plain.textures.maps_list()[0])


def test_zip_of_glb_keeps_its_texture(tmp_path):
    plain = IO().load_mesh(DATA / "cow.glb")
    zipped = IO().load_mesh(_zip(tmp_path / "cow.zip", DATA / "cow.glb"))
    assert torch.equal(_uv_corners(zipped.textures), _uv_corners(plain.textures))
    assert torch.equal(zipped.textures.maps_list()[0], plain.textures.maps_list()[0])


def test_zip_with_a_point_cloud(tmp_path):
    points, colors = torch.rand(6, 3), torch.rand(6, 3)
    # trimesh keeps colours in 8 bits: give them 8 bits to compare with
    save_ply(tmp_path / "p.ply", points, None, verts_colors=colors, colors_as_uint8=True)
    path = _zip(tmp_path / "p.zip", tmp_path / "p.ply")
    plain = IO().load_pointcloud(tmp_path / "p.ply")
    zipped = IO().load_pointcloud(path)
    assert torch.equal(zipped.points_packed(), plain.points_packed())
    assert torch.equal(zipped.features_packed(), plain.features_packed())
    assert IO().file_has_faces(path) is False
    with pytest.raises(FileFormatError, match="6 vertices but no faces") as info:
        IO().load_mesh(path)
    assert info.value.path == os.fspath(path)


# -- XYZ point clouds --------------------------------------------------------------------------


def test_xyz_round_trip_with_and_without_colours(tmp_path):
    points = torch.rand(20, 3) * 10 - 5
    colors = torch.randint(0, 256, (20, 3)).float() / 255
    IO().save_pointcloud(Pointclouds([points], features=[colors]), tmp_path / "c.xyz")
    back = IO().load_pointcloud(tmp_path / "c.xyz")
    torch.testing.assert_close(back.points_packed(), points, atol=1e-7, rtol=0)  # 8 decimals
    assert torch.equal(back.features_packed(), colors)
    IO().save_pointcloud(Pointclouds([points]), tmp_path / "p.xyz")
    back = IO().load_pointcloud(tmp_path / "p.xyz")
    assert back.features_packed() is None and back.points_packed().shape == (20, 3)
    assert IO().file_has_faces(tmp_path / "p.xyz") is False


def test_xyz_drops_normals_with_a_warning(tmp_path):
    cloud = Pointclouds([torch.rand(3, 3)], normals=[torch.rand(3, 3)])
    with pytest.warns(UserWarning, match="normals not saved"):
        IO().save_pointcloud(cloud, tmp_path / "n.xyz")
    assert IO().load_pointcloud(tmp_path / "n.xyz").normals_packed() is None


def test_xyz_with_nan_names_the_point(tmp_path):
    path = tmp_path / "nan.xyz"
    path.write_text("0 0 0\n1 2 nan\n")
    with pytest.raises(FileFormatError, match="point 1 is not finite"):
        IO().load_pointcloud(path)


# -- errors ------------------------------------------------------------------------------------


def _zip_bytes(**members: str) -> bytes:
    """A zip archive holding ``members`` (name: text; "_" in a name stands for ".")."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name.replace("_", "."), text)
    return buffer.getvalue()


def _valid_3mf(tmp_path) -> bytes:
    IO().save_mesh(_tetra(), tmp_path / "valid.3mf")
    return (tmp_path / "valid.3mf").read_bytes()


EMPTY_MODEL = ('<model xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
               '<resources/><build/></model>')


@pytest.mark.parametrize("case", ["not_a_zip", "truncated", "bad_xml", "no_model",
                                  "no_objects"])
def test_corrupt_3mf_names_the_path(tmp_path, case):
    data = {
        "not_a_zip": lambda: b"this is not a 3MF file",
        "truncated": lambda: _valid_3mf(tmp_path)[:200],
        "bad_xml": lambda: _zip_bytes(**{"3D/3dmodel_model": "<model><broken"}),
        "no_model": lambda: _zip_bytes(readme_txt="hello"),
        "no_objects": lambda: _zip_bytes(**{"3D/3dmodel_model": EMPTY_MODEL}),
    }[case]()
    path = tmp_path / "bad.3mf"
    path.write_bytes(data)
    with pytest.raises(FileFormatError, match="trimesh cannot read it as 3MF") as info:
        IO().load_mesh(path)
    assert info.value.path == os.fspath(path) and str(path) in str(info.value)


def test_truncated_zip(tmp_path):
    whole = _zip(tmp_path / "whole.zip", DATA / "color.ply").read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FileFormatError, match="cannot read it as a zip archive") as info:
        IO().load_mesh(path)
    assert info.value.path == os.fspath(path)


@pytest.mark.parametrize("members", [{"readme_txt": "hello"},
                                     {"bad_obj": "v 0 0 0\nf 1 2 3\n"}])
def test_zip_with_no_mesh(tmp_path, members):
    path = tmp_path / "none.zip"
    path.write_bytes(_zip_bytes(**members))
    with pytest.raises(FileFormatError, match="found no mesh among the archive's members") as e:
        IO().load_mesh(path)
    assert e.value.path == os.fspath(path)
    assert list(members)[0].replace("_", ".") in str(e.value)


@pytest.mark.parametrize("content", ["", "<COLLADA><oops"])
def test_corrupt_collada(tmp_path, content):
    path = tmp_path / "bad.dae"
    path.write_text(content)
    with pytest.raises(FileFormatError, match="trimesh cannot read it as COLLADA") as info:
        IO().load_mesh(path)
    assert info.value.path == os.fspath(path)


@pytest.mark.parametrize("ext, module, package", [(".3mf", "lxml", "lxml"),
                                                  (".dae", "collada", "pycollada")])
def test_missing_optional_package_is_named(tmp_path, monkeypatch, ext, module, package):
    IO().save_mesh(_tetra(), tmp_path / f"t{ext}")
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    for call in (lambda: IO().load_mesh(tmp_path / f"t{ext}"),
                 lambda: IO().save_mesh(_tetra(), tmp_path / f"u{ext}")):
        with pytest.raises(FileFormatError, match=f"{package}.*pip install {package}"):
            call()
    assert not (tmp_path / f"u{ext}").exists()


def test_zip_member_with_missing_package_is_named(tmp_path, monkeypatch):
    IO().save_mesh(_tetra(), tmp_path / "t.dae")
    path = _zip(tmp_path / "t.zip", tmp_path / "t.dae")
    monkeypatch.setitem(sys.modules, "collada", None)
    with pytest.raises(FileFormatError, match="pip install pycollada"):
        IO().load_mesh(path)


# -- r3d info ----------------------------------------------------------------------------------


def test_info_says_the_file_was_read_through_trimesh(tmp_path):
    IO().save_mesh(_tetra(), tmp_path / "t.3mf")
    IO().save_pointcloud(Pointclouds([torch.rand(5, 3)]), tmp_path / "p.xyz")
    result = runner.invoke(app, ["info", str(tmp_path / "t.3mf"), str(tmp_path / "p.xyz"),
                                 str(DATA / "tet.ply"), "--json"])
    assert result.exit_code == 0, result.output
    mesh, cloud, own = json.loads(result.stdout)
    assert mesh["kind"] == "mesh" and mesh["faces"] == 4 and mesh["watertight"] is True
    assert cloud["kind"] == "pointcloud" and cloud["vertices"] == 5
    assert mesh["loaded_by"] == cloud["loaded_by"] == LOADED_BY
    assert own["loaded_by"] == "r3d"
    table = runner.invoke(app, ["info", str(tmp_path / "t.3mf")])
    assert table.exit_code == 0 and "loaded by" in table.output and "trimesh" in table.output


def test_info_on_a_bad_archive_is_one_error_line(tmp_path):
    path = tmp_path / "none.zip"
    path.write_bytes(_zip_bytes(readme_txt="hello"))
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2 and "readme.txt" in result.output


# -- r3d's own loaders against trimesh ---------------------------------------------------------

# (file, same vertices in the same order). trimesh (process=False) keeps PLY, STL and GLB
# vertices as stored; it splits OBJ vertices by (v, vt) pair, and orders the triangles of
# polygon faces its own way (OBJ n-gons, OFF quads), so those are compared as triangle sets.
OWN_FORMATS = [("color.ply", True), ("tet.ply", True), ("teapot.stl", True),
               ("fuji_obj.stl", True), ("cow.glb", True), ("BoxTextured.glb", True),
               ("cubevc.glb", True), ("cube.off", False), ("cow/cow.obj", False),
               ("rabbit.obj", False), ("spot/spot_control_mesh.obj", False)]


@pytest.mark.parametrize("name, same_vertices", OWN_FORMATS)
def test_own_loaders_agree_with_trimesh(name, same_vertices):
    ours = IO().load_mesh(DATA / name, include_textures=False)
    theirs = trimesh.util.concatenate(
        trimesh.load(DATA / name, force="scene", process=False).dump())
    verts, faces = ours.verts_packed().numpy(), ours.faces_packed().numpy()
    if same_vertices:
        np.testing.assert_array_equal(verts, np.asarray(theirs.vertices, np.float32))
        np.testing.assert_array_equal(faces, theirs.faces)
    else:
        assert faces.shape == theirs.faces.shape
        assert _triangles(verts, faces) == _triangles(theirs.vertices, theirs.faces)


def test_trimesh_log_messages_become_warnings_naming_the_file(tmp_path, capfd):
    # trimesh logs (with a traceback) that the image this PLY names is missing
    ply = tmp_path / "m.ply"
    ply.write_text("ply\nformat ascii 1.0\ncomment TextureFile missing.png\nelement vertex 3\n"
                   "property float x\nproperty float y\nproperty float z\nelement face 1\n"
                   "property list uchar int vertex_indices\nend_header\n"
                   "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    path = _zip(tmp_path / "m.zip", ply)
    with pytest.warns(UserWarning, match=f"{path}: trimesh: "):
        mesh = IO().load_mesh(path)
    assert mesh.faces_packed().shape == (1, 3)
    assert "Traceback" not in capfd.readouterr().err
