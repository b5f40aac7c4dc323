"""OFF reading and writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from r3d.errors import FileFormatError
from r3d.io import IO, load_off, save_off
from r3d.io.off import read_off
from r3d.renderer import TexturesAtlas, TexturesVertex

DATA = Path(__file__).parent / "data"


def test_cube_quads():
    verts, faces = load_off(DATA / "cube.off")
    assert verts.shape == (8, 3) and faces.shape == (12, 3)
    assert faces.dtype == torch.int64


def test_face_colours_become_atlas():
    off = read_off(DATA / "edge_cases" / "comments.off")
    assert off.verts.shape == (8, 3) and off.faces.shape == (12, 3)
    assert np.allclose(off.face_colors[0], [1.0, 0, 0]) and np.allclose(off.face_colors[2],
                                                                         [0.3, 0.4, 0])
    mesh = IO().load_mesh(DATA / "edge_cases" / "comments.off")
    assert isinstance(mesh.textures, TexturesAtlas)
    assert mesh.textures.atlas_packed().shape == (12, 1, 1, 3)


def test_keyword_and_counts_on_one_line(tmp_path):
    path = tmp_path / "k.off"
    path.write_text("  OFF3 1 0 # counts\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    verts, faces = load_off(path)
    assert verts.shape == (3, 3) and faces.tolist() == [[0, 1, 2]]


def test_token_stream_layout(tmp_path):
    path = tmp_path / "s.off"
    path.write_text("OFF\n4 2 0\n0 0 0 1 0 0\n0 1 0 1 1 0\n3 0 1 2 3 0 2 3\n")
    verts, faces = load_off(path)
    assert verts.tolist()[3] == [1, 1, 0] and faces.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_coff_round_trip(tmp_path):
    verts = torch.rand(5, 3)
    faces = torch.tensor([[0, 1, 2], [2, 3, 4]])
    colors = torch.rand(5, 3)
    path = tmp_path / "c.off"
    save_off(path, verts, faces, verts_colors=colors)
    assert path.read_text().startswith("COFF\n5 2 0\n")
    off = read_off(path)
    assert np.array_equal(off.verts.astype(np.float32), verts.numpy())
    assert off.faces.tolist() == faces.tolist()
    assert np.allclose(off.verts_colors, colors.numpy(), atol=1e-6)
    mesh = IO().load_mesh(path)
    assert isinstance(mesh.textures, TexturesVertex)


@pytest.mark.parametrize(
    "text, line, match",
    [
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n", 6, "vertex indices"),
        ("OFF\n3 1 0\n0 0 0\n1 0 x\n0 1 0\n3 0 1 2\n", 4, "not a number"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n", 6, "says 4 corners"),
        ("OFF\nthree 1 0\n", 2, "counts"),
        ("PLY\n3 1 0\n", 1, "not an OFF file"),
        ("OFF\n3 1 0\n0 0 0\n", 3, "declares 3 vertices"),
        ("OFF BINARY\n", 1, "binary OFF"),
        ("nOFF\n3\n3 1 0\n", 1, "only 3D OFF"),
    ],
)
def test_malformed(tmp_path, text, line, match):
    path = tmp_path / "bad.off"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match) as info:
        load_off(path)
    assert info.value.line == line and info.value.path == str(path)
