"""Colours that hold NaN or infinity: every loader that reads colours (PLY, OFF, OBJ, glTF)
loads the geometry and drops the colours with a warning, or raises with strict_colors=True; and
the path checks shared by the loaders (missing files, directories)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from r3d.errors import FileFormatError
from r3d.io import IO, save_gltf
from r3d.io.ply import read_ply
from r3d.io.utils import finite_colors, read_file_bytes, require_file

PLY_HEADER = (
    "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    "property float z\nproperty float red\nproperty float green\nproperty float blue\n"
    "element face 1\nproperty list uchar int vertex_indices\n"
)


def test_finite_colors_keeps_finite_colours():
    colors = np.array([[0.1, 0.2, 0.3], [1.0, 0.0, 0.5]])
    assert finite_colors("a.ply", colors, "colour of vertex") is colors
    assert finite_colors("a.ply", None, "colour of vertex", strict=True) is None


def test_finite_colors_drops_non_finite_colours_with_a_warning():
    colors = np.array([[0.1, 0.2, 0.3], [0.0, np.inf, 0.5]])
    with pytest.warns(UserWarning, match=r"^a.off:9: colour of vertex 1 is not finite "
                                         r"\(\[0.0, inf, 0.5\]\); colours dropped"):
        assert finite_colors("a.off", colors, "colour of vertex", lines=[8, 9]) is None


def test_finite_colors_strict_raises_the_file_error():
    colors = np.array([[np.nan, 0.2, 0.3]])
    with pytest.raises(FileFormatError, match=r"colour of vertex 0 is not finite \(\[nan") as info:
        finite_colors("a.off", colors, "colour of vertex", strict=True, lines=[4])
    assert info.value.path == "a.off" and info.value.line == 4


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_file_bytes(tmp_path / "gone.ply")
    assert info.value.filename == str(tmp_path / "gone.ply") and "no such file" in str(info.value)
    with pytest.raises(IsADirectoryError, match="is a directory") as info:
        require_file(tmp_path)
    assert info.value.filename == str(tmp_path)
    (tmp_path / "there.ply").write_text("x")
    assert require_file(tmp_path / "there.ply") == str(tmp_path / "there.ply")


def _ply(tmp_path, vertex_rows: str, face_row: str = "3 0 1 2", face_colours: bool = False):
    header = PLY_HEADER
    if face_colours:
        header += "property uchar red\nproperty uchar green\nproperty uchar blue\n"
    path = tmp_path / "c.ply"
    path.write_text(header + "end_header\n" + vertex_rows + face_row + "\n")
    return path


def test_ply_nan_vertex_colour(tmp_path):
    path = _ply(tmp_path, "0 0 0 1 0 0\n1 0 0 0 nan 0\n0 1 0 0 0 1\n")
    with pytest.warns(UserWarning, match=r"c.ply:14: colour of vertex 1 is not finite "
                                         r"\(\[0.0, nan, 0.0\]\); colours dropped"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.faces_packed().shape == (1, 3)
    with pytest.warns(UserWarning, match="colours dropped"):
        assert IO().load_pointcloud(path).features_packed() is None
    with pytest.raises(FileFormatError, match="colour of vertex 1 is not finite") as info:
        IO().load_mesh(path, strict_colors=True)
    assert info.value.line == 14
    with pytest.raises(FileFormatError, match="colour of vertex 1"):
        IO().load_pointcloud(path, strict_colors=True)


def test_ply_face_colours_are_checked_too(tmp_path):
    # integer face colours are always finite; float ones are checked like vertex colours
    rows = "0 0 0 1 0 0\n1 0 0 0 1 0\n0 1 0 0 0 1\n"
    ply = read_ply(_ply(tmp_path, rows, "3 0 1 2 255 0 0", face_colours=True))
    assert ply.face_colors.tolist() == [[1.0, 0.0, 0.0]]
    header = PLY_HEADER + "property float red\nproperty float green\nproperty float blue\n"
    path = tmp_path / "f.ply"
    path.write_text(header + "end_header\n" + rows + "3 0 1 2 inf 0 0\n")
    with pytest.warns(UserWarning, match=r"f.ply:19: colour of face 0 is not finite"):
        ply = read_ply(path)
    assert ply.face_colors is None and ply.colors is not None
    with pytest.raises(FileFormatError, match="colour of face 0 is not finite"):
        read_ply(path, strict_colors=True)


def test_off_nan_vertex_and_face_colours(tmp_path):
    path = tmp_path / "c.off"
    path.write_text("COFF\n3 1 0\n0 0 0 1 0 0 1\n1 0 0 nan 1 0 1\n0 1 0 0 0 1 1\n3 0 1 2\n")
    with pytest.warns(UserWarning, match=r"c.off:4: colour of vertex 1 is not finite"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.verts_packed().shape == (3, 3)
    with pytest.raises(FileFormatError, match="colour of vertex 1") as info:
        IO().load_mesh(path, strict_colors=True)
    assert info.value.line == 4
    path.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2 nan 0 0\n")
    with pytest.warns(UserWarning, match=r"c.off:6: colour of triangle 0 is not finite"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.faces_packed().shape == (1, 3)
    with pytest.raises(FileFormatError, match="colour of triangle 0"):
        IO().load_pointcloud(path, strict_colors=True)


def test_obj_colours_scaled_from_255_and_nan_dropped(tmp_path):
    path = tmp_path / "c.obj"
    path.write_text("v 0 0 0 255 0 0\nv 1 0 0 0 255 0\nv 0 1 0 0 0 255\nf 1 2 3\n")
    colours = IO().load_mesh(path).textures.verts_features_list()[0]
    assert colours.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    path.write_text("v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 inf\nf 1 2 3\n")
    with pytest.warns(UserWarning, match=r"c.obj:3: colour of vertex 2 is not finite"):
        cloud = IO().load_pointcloud(path)
    assert cloud.points_packed().shape == (3, 3) and cloud.features_packed() is None
    with pytest.raises(FileFormatError, match="colour of vertex 2"):
        IO().load_mesh(path, strict_colors=True)


def test_gltf_nan_color_0(tmp_path):
    path = tmp_path / "c.glb"
    colours = torch.tensor([[0.125, 0.25, 0.375], [0.5, 0.625, 0.75], [0.875, 0.0625, 0.1875]])
    save_gltf(path, torch.eye(3), torch.tensor([[0, 1, 2]]), verts_colors=colours)
    data = path.read_bytes()
    second = np.asarray(colours[1], "<f4").tobytes()
    assert data.count(second) == 1
    path.write_bytes(data.replace(second, np.array([0.5, np.nan, 0.75], "<f4").tobytes()))
    with pytest.warns(UserWarning, match=r"c.glb: COLOR_0 of vertex 1 is not finite "
                                         r"\(\[0.5, nan, 0.75\]\); colours dropped"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.faces_packed().tolist() == [[0, 1, 2]]
    with pytest.raises(FileFormatError, match="COLOR_0 of vertex 1 is not finite"):
        IO().load_mesh(path, strict_colors=True)
