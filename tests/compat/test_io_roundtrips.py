"""File round trips as PyTorch3D code does them (issue 21, "Drop-in for PyTorch3D code").

Each test is written the way a PyTorch3D user writes it, with ``pytorch3d`` replaced by
``r3d``, and asserts what PyTorch3D 0.7.9 does with the same call (values worked out by hand;
PyTorch3D itself is not imported: CI does not have it).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from r3d.errors import FileFormatError, InputError
from r3d.io import (
    IO,
    load_obj,
    load_objs_as_meshes,
    load_off,
    load_ply,
    save_obj,
    save_off,
    save_ply,
)
from r3d.renderer import TexturesUV, TexturesVertex
from r3d.structures import Meshes, Pointclouds

TRI_VERTS = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
TRI_FACES = torch.tensor([[0, 1, 2]])
# colours that 8 bits cannot hold: 0.1234567 * 255 = 31.48..., so uchar would give 31 / 255
FLOAT_COLOURS = torch.tensor([[0.1234567, 0.2, 0.3], [0.5, 0.6, 0.7], [0.9, 0.0, 1.0]])


def _header(path) -> str:
    data = path.getvalue() if isinstance(path, io.BytesIO) else path.read_bytes()
    return data[: data.index(b"end_header")].decode("ascii")


def _png(path, pixels) -> None:
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


# -- PLY: float colours ------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
def test_point_cloud_float_colours_come_back_exactly(tmp_path, binary):
    cloud = Pointclouds(points=[TRI_VERTS], features=[FLOAT_COLOURS])
    path = tmp_path / "cloud.ply"
    IO().save_pointcloud(cloud, path, binary=binary)
    header = _header(path)
    assert "property float red\nproperty float green\nproperty float blue" in header
    loaded = IO().load_pointcloud(path)
    assert torch.equal(loaded.features_packed(), FLOAT_COLOURS)
    assert torch.equal(loaded.points_packed(), TRI_VERTS)


def test_mesh_vertex_colours_stay_float(tmp_path):
    mesh = Meshes(verts=[TRI_VERTS], faces=[TRI_FACES], textures=TexturesVertex([FLOAT_COLOURS]))
    path = tmp_path / "mesh.ply"
    IO().save_mesh(mesh, path)
    assert "property float red" in _header(path)
    loaded = IO().load_mesh(path)
    assert torch.equal(loaded.textures.verts_features_packed(), FLOAT_COLOURS)


def test_colors_as_uint8_writes_bytes_and_reads_them_scaled(tmp_path):
    cloud = Pointclouds(points=[TRI_VERTS], features=[torch.full((3, 3), 0.5)])
    path = tmp_path / "cloud.ply"
    IO().save_pointcloud(cloud, path, binary=False, colors_as_uint8=True)
    assert "property uchar red" in _header(path)
    assert path.read_text().splitlines()[-1].endswith(" 128 128 128")  # rint(0.5 * 255)
    features = IO().load_pointcloud(path).features_packed()
    assert torch.allclose(features, torch.full((3, 3), 128 / 255))


def test_uchar_colours_in_a_file_are_divided_by_255(tmp_path):
    path = tmp_path / "c.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                    "property float y\nproperty float z\nproperty uchar red\n"
                    "property uchar green\nproperty uchar blue\nend_header\n0 0 0 255 0 51\n")
    features = IO().load_pointcloud(path).features_packed()
    assert torch.allclose(features, torch.tensor([[1.0, 0.0, 0.2]]))


# -- PLY: vertex normals of meshes -------------------------------------------------------------


def test_mesh_vertex_normals_are_written_and_read_back(tmp_path):
    normals = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.6, 0.8], [1.0, 0.0, 0.0]])
    mesh = Meshes(verts=[TRI_VERTS], faces=[TRI_FACES], verts_normals=[normals])
    path = tmp_path / "mesh.ply"
    IO().save_mesh(mesh, path)
    assert "property float nx\nproperty float ny\nproperty float nz" in _header(path)
    loaded = IO().load_mesh(path)
    assert loaded.has_verts_normals()
    assert torch.equal(loaded.verts_normals_packed(), normals)


def test_normals_are_written_once_computed_and_not_before(tmp_path):
    mesh = Meshes(verts=[TRI_VERTS], faces=[TRI_FACES])
    IO().save_mesh(mesh, tmp_path / "before.ply")
    assert "nx" not in _header(tmp_path / "before.ply")
    assert not IO().load_mesh(tmp_path / "before.ply").has_verts_normals()
    mesh.verts_normals_packed()  # the triangle lies in z = 0: every normal is +z
    IO().save_mesh(mesh, tmp_path / "after.ply")
    loaded = IO().load_mesh(tmp_path / "after.ply")
    assert torch.allclose(loaded.verts_normals_packed(), torch.tensor([[0.0, 0.0, 1.0]] * 3))


# -- PLY: texture coordinates ------------------------------------------------------------------

_UV_PLY = ("ply\nformat ascii 1.0\n{comment}element vertex 3\nproperty float x\n"
           "property float y\nproperty float z\n{props}element face 1\n"
           "property list uchar int vertex_indices\nend_header\n"
           "0 0 0 {r0}0 0\n1 0 0 {r1}1 0\n0 1 0 {r2}0 1\n3 0 1 2\n")


def _uv_ply(tmp_path, u="texture_u", v="texture_v", comment="comment TextureFile tex.png\n",
            colours=False):
    props = f"property float {u}\nproperty float {v}\n"
    rows = {"r0": "", "r1": "", "r2": ""}
    if colours:
        props = "property uchar red\nproperty uchar green\nproperty uchar blue\n" + props
        rows = {"r0": "255 0 0 ", "r1": "255 0 0 ", "r2": "255 0 0 "}
    path = tmp_path / "uv.ply"
    path.write_text(_UV_PLY.format(comment=comment, props=props, **rows))
    _png(tmp_path / "tex.png", [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]])
    return path


@pytest.mark.parametrize("u, v", [("texture_u", "texture_v"), ("u", "v"), ("s", "t")])
def test_ply_uvs_and_texture_file_become_textures_uv(tmp_path, u, v):
    mesh = IO().load_mesh(_uv_ply(tmp_path, u, v))
    tex = mesh.textures
    assert isinstance(tex, TexturesUV)
    assert torch.equal(tex.verts_uvs_padded()[0], torch.tensor([[0.0, 0], [1, 0], [0, 1]]))
    assert torch.equal(tex.faces_uvs_padded()[0], mesh.faces_packed())
    assert tex.padding_mode == "border"
    image = tex.maps_padded()[0]
    assert image.shape == (2, 2, 3)
    assert torch.equal(image[0, 0], torch.tensor([1.0, 0, 0]))
    assert torch.equal(image[1, 0], torch.tensor([0.0, 0, 1]))


def test_ply_uvs_without_texture_file_give_no_textures(tmp_path):
    assert IO().load_mesh(_uv_ply(tmp_path, comment="")).textures is None


def test_ply_vertex_colours_win_over_uvs(tmp_path):
    mesh = IO().load_mesh(_uv_ply(tmp_path, colours=True))
    assert isinstance(mesh.textures, TexturesVertex)
    assert torch.equal(mesh.textures.verts_features_packed(), torch.tensor([[1.0, 0, 0]] * 3))


def test_ply_missing_texture_file_warns_and_loads_the_geometry(tmp_path):
    path = _uv_ply(tmp_path, comment="comment TextureFile missing.png\n")
    with pytest.warns(UserWarning, match="missing.png"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.faces_packed().tolist() == [[0, 1, 2]]


# -- OFF: vertex colours -----------------------------------------------------------------------


@pytest.mark.parametrize("text, colours", [
    # PyTorch3D writes a lower-case "off" and the colours as extra columns
    ("off\n3 1 0\n0 0 0 0.1 0.2 0.3\n1 0 0 0.5 0.6 0.7\n0 1 0 0.9 0 1\n3 0 1 2\n",
     [[0.1, 0.2, 0.3], [0.5, 0.6, 0.7], [0.9, 0.0, 1.0]]),
    # integer colours, 0 to 255
    ("OFF\n3 1 0\n0.0 0.0 0.0 255 0 0\n1.0 0.0 0.0 0 255 0\n0.0 1.0 0.0 0 0 51\n3 0 1 2\n",
     [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 0.2]]),
    # RGBA: the alpha is dropped
    ("OFF\n3 1 0\n0 0 0 0.5 0.25 1 0.5\n1 0 0 0 1 0 1\n0 1 0 0 0 1 1\n3 0 1 2\n",
     [[0.5, 0.25, 1.0], [0, 1.0, 0], [0, 0, 1.0]]),
])
def test_off_vertex_colours_become_textures_vertex(tmp_path, text, colours):
    path = tmp_path / "c.off"
    path.write_text(text)
    mesh = IO().load_mesh(path)
    assert isinstance(mesh.textures, TexturesVertex)
    assert torch.allclose(mesh.textures.verts_features_packed(), torch.tensor(colours))


# -- OBJ: mtllib without usemtl ----------------------------------------------------------------

_OBJ_BODY = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n"


def test_obj_with_one_material_and_no_usemtl_uses_it(tmp_path):
    _png(tmp_path / "red.png", [[[255, 0, 0]]])
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 1 0 0\nmap_Kd red.png\n")
    (tmp_path / "m.obj").write_text("mtllib m.mtl\n" + _OBJ_BODY)
    verts, faces, aux = load_obj(tmp_path / "m.obj")
    assert faces.materials_idx.tolist() == [0]
    assert list(aux.material_colors) == ["red"] and list(aux.texture_images) == ["red"]
    mesh = load_objs_as_meshes([tmp_path / "m.obj"])
    assert isinstance(mesh.textures, TexturesUV)
    assert torch.equal(mesh.textures.maps_padded()[0, 0, 0], torch.tensor([1.0, 0, 0]))
    assert isinstance(IO().load_mesh(tmp_path / "m.obj").textures, TexturesUV)


def test_obj_with_several_materials_and_no_usemtl_warns(tmp_path):
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n")
    (tmp_path / "m.obj").write_text("mtllib m.mtl\n" + _OBJ_BODY)
    with pytest.warns(UserWarning, match="no usemtl"):
        _, faces, _ = load_obj(tmp_path / "m.obj")
    assert faces.materials_idx.tolist() == [-1]


# -- file objects ------------------------------------------------------------------------------


def test_ply_in_memory_binary_and_text(tmp_path):
    buffer = io.BytesIO()
    save_ply(buffer, TRI_VERTS, TRI_FACES)
    assert "format binary_little_endian" in _header(buffer)
    buffer.seek(0)
    verts, faces = load_ply(buffer)
    assert torch.equal(verts, TRI_VERTS) and faces.tolist() == [[0, 1, 2]]

    text = io.StringIO()
    save_ply(text, TRI_VERTS, TRI_FACES, ascii=True)
    text.seek(0)
    verts, faces = load_ply(text)
    assert torch.equal(verts, TRI_VERTS) and faces.tolist() == [[0, 1, 2]]

    with pytest.raises(InputError, match="binary file object"):
        save_ply(io.StringIO(), TRI_VERTS, TRI_FACES)
    with pytest.raises(FileFormatError, match="text stream"):
        load_ply(io.StringIO(buffer.getvalue().decode("latin-1")))


def test_ply_open_files_and_positions(tmp_path):
    with open(tmp_path / "t.ply", "wb") as f:
        f.write(b"leading bytes")
        save_ply(f, TRI_VERTS, TRI_FACES)
        assert not f.closed  # written at the position, left open
    with open(tmp_path / "t.ply", "rb") as f:
        assert f.read(13) == b"leading bytes"
        verts, faces = load_ply(f)
    assert torch.equal(verts, TRI_VERTS) and faces.tolist() == [[0, 1, 2]]


def test_obj_file_objects(tmp_path):
    text = io.StringIO()
    save_obj(text, TRI_VERTS, TRI_FACES)
    assert text.getvalue().splitlines()[-1] == "f 1 2 3"
    verts, faces, _ = load_obj(io.StringIO(text.getvalue()))
    assert torch.equal(verts, TRI_VERTS) and faces.verts_idx.tolist() == [[0, 1, 2]]
    binary = io.BytesIO()
    save_obj(binary, TRI_VERTS, TRI_FACES)
    assert binary.getvalue() == text.getvalue().encode()
    verts, faces, _ = load_obj(io.BytesIO(binary.getvalue()))
    assert faces.verts_idx.tolist() == [[0, 1, 2]]
    with open(tmp_path / "t.obj", "w") as f:
        save_obj(f, TRI_VERTS, TRI_FACES)
    with open(tmp_path / "t.obj") as f:
        assert load_obj(f)[1].verts_idx.tolist() == [[0, 1, 2]]
    with pytest.raises(InputError, match="must be a path"):
        save_obj(io.StringIO(), TRI_VERTS, TRI_FACES, verts_uvs=torch.rand(3, 2),
                 faces_uvs=TRI_FACES, texture_map=torch.rand(2, 2, 3))


def test_obj_file_object_names_its_mtl_relative_to_the_current_directory(tmp_path,
                                                                         monkeypatch):
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 1 0 0\n")
    monkeypatch.chdir(tmp_path)
    _, faces, aux = load_obj(io.StringIO("mtllib m.mtl\nusemtl red\n" + _OBJ_BODY))
    assert faces.materials_idx.tolist() == [0] and list(aux.material_colors) == ["red"]


def test_off_file_objects(tmp_path):
    text = "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
    for source in (io.StringIO(text), io.BytesIO(text.encode())):
        verts, faces = load_off(source)
        assert torch.equal(verts, TRI_VERTS) and faces.tolist() == [[0, 1, 2]]
    out = io.StringIO()
    save_off(out, TRI_VERTS, TRI_FACES)
    assert out.getvalue().startswith("OFF\n3 1 0\n")
    assert load_off(io.StringIO(out.getvalue()))[1].tolist() == [[0, 1, 2]]


# -- empty members given as torch.tensor([]) ---------------------------------------------------


def test_empty_faces_in_the_savers(tmp_path):
    save_ply(tmp_path / "e.ply", TRI_VERTS, torch.tensor([]))
    assert "element face 0" in _header(tmp_path / "e.ply")
    verts, faces = load_ply(tmp_path / "e.ply")
    assert torch.equal(verts, TRI_VERTS) and faces.shape == (0, 3)

    save_obj(tmp_path / "e.obj", TRI_VERTS, torch.tensor([]))
    lines = (tmp_path / "e.obj").read_text().splitlines()
    assert len(lines) == 3 and all(line.startswith("v ") for line in lines)
    verts, faces, _ = load_obj(tmp_path / "e.obj")
    assert torch.equal(verts, TRI_VERTS) and faces.verts_idx.shape == (0, 3)

    save_off(tmp_path / "e.off", TRI_VERTS, torch.tensor([]))
    assert (tmp_path / "e.off").read_text().startswith("OFF\n3 0 0\n")
    verts, faces = load_off(tmp_path / "e.off")
    assert torch.equal(verts, TRI_VERTS) and faces.shape == (0, 3)


def test_empty_optional_members_count_as_none(tmp_path):
    save_ply(tmp_path / "n.ply", TRI_VERTS, TRI_FACES, verts_normals=torch.tensor([]))
    assert "nx" not in _header(tmp_path / "n.ply")
    save_off(tmp_path / "n.off", TRI_VERTS, TRI_FACES, verts_colors=torch.tensor([]))
    assert (tmp_path / "n.off").read_text().startswith("OFF\n")


# -- float index tensors -----------------------------------------------------------------------


def test_float_faces_are_cast_to_int64(tmp_path):
    float_faces = torch.tensor([[0.0, 1.0, 2.0]])
    save_ply(tmp_path / "f.ply", TRI_VERTS, float_faces)
    assert load_ply(tmp_path / "f.ply")[1].tolist() == [[0, 1, 2]]
    save_off(tmp_path / "f.off", TRI_VERTS, float_faces)
    assert load_off(tmp_path / "f.off")[1].tolist() == [[0, 1, 2]]
    save_obj(tmp_path / "f.obj", TRI_VERTS, float_faces,
             verts_uvs=torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
             faces_uvs=torch.tensor([[2.0, 1.0, 0.0]]))
    assert (tmp_path / "f.obj").read_text().splitlines()[-1] == "f 1/3 2/2 3/1"
    _, faces, _ = load_obj(tmp_path / "f.obj")
    assert faces.verts_idx.dtype == torch.int64 and faces.textures_idx.tolist() == [[2, 1, 0]]


def test_float_faces_that_are_not_whole_numbers_raise(tmp_path):
    with pytest.raises(InputError, match="faces holds values that are not whole numbers"):
        save_ply(tmp_path / "f.ply", TRI_VERTS, torch.tensor([[0.0, 1.5, 2.0]]))
    assert not (tmp_path / "f.ply").exists()


# -- the IO registry ---------------------------------------------------------------------------


def test_register_default_formats(tmp_path):
    save_ply(tmp_path / "t.ply", TRI_VERTS, TRI_FACES)
    io_ = IO(include_default_formats=False)
    with pytest.raises(FileFormatError, match="unknown mesh file extension"):
        io_.load_mesh(tmp_path / "t.ply")
    io_.register_default_formats()
    assert io_.load_mesh(tmp_path / "t.ply").faces_packed().tolist() == [[0, 1, 2]]


# -- r3d's stricter checks stay ----------------------------------------------------------------


def test_face_indices_out_of_range_in_a_file_raise(tmp_path):
    path = tmp_path / "bad.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                    "property float y\nproperty float z\nelement face 1\n"
                    "property list uchar int vertex_indices\nend_header\n"
                    "0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n")
    with pytest.raises(FileFormatError, match="vertex indices"):
        load_ply(path)
    with pytest.raises(FileFormatError, match="vertex indices"):
        load_ply(io.BytesIO(path.read_bytes()))
