"""STL reading (ASCII / binary, triangle soups) and writing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r3d.errors import FileFormatError
from r3d.io import IO, load_stl, save_stl

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "name, corners, faces, distinct",
    [
        ("teapot.stl", 2682, 894, 480),
        ("fuji_obj.stl", 1032, 344, 174),
        ("edge_cases/unit_cube.STL", 36, 12, 8),
        ("edge_cases/multibody.stl", 96, 32, 20),
    ],
)
def test_counts_as_stored_and_merged(name, corners, faces, distinct):
    verts, tris = load_stl(DATA / name)
    assert verts.shape == (corners, 3) and tris.shape == (faces, 3)
    assert torch.equal(tris.reshape(-1), torch.arange(corners))
    merged, mtris = load_stl(DATA / name, merge_vertices=True)
    assert merged.shape == (distinct, 3) and mtris.shape == (faces, 3)
    assert torch.equal(merged[mtris], verts[tris])
    mesh = IO().load_mesh(DATA / name, merge_vertices=True)
    assert mesh.verts_packed().shape == (distinct, 3)


@pytest.mark.parametrize("ascii_", [False, True])
def test_round_trip(tmp_path, ascii_):
    verts, faces = load_stl(DATA / "teapot.stl", merge_vertices=True)
    path = tmp_path / "t.stl"
    save_stl(path, verts, faces, ascii=ascii_)
    assert path.read_bytes().startswith(b"solid") == ascii_
    v2, f2 = load_stl(path)
    assert torch.equal(v2, verts[faces].reshape(-1, 3))
    v3, f3 = load_stl(path, merge_vertices=True)
    assert torch.equal(v3, verts) and torch.equal(f3, faces)


def test_malformed(tmp_path):
    path = tmp_path / "b.stl"
    path.write_bytes(b"\0" * 80 + (3).to_bytes(4, "little") + b"\0" * 60)
    with pytest.raises(FileFormatError, match="truncated"):
        load_stl(path)
    path.write_text("solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
                    "vertex 0 1 0\nvertex 1 1 0\nendloop\nendfacet\nendsolid x\n")
    with pytest.raises(FileFormatError, match="4 vertices") as info:
        load_stl(path)
    assert info.value.line == 3
    path.write_text("solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 nan\nvertex 1 0 0\n"
                    "vertex 0 1 0\nendloop\nendfacet\nendsolid x\n")
    with pytest.raises(FileFormatError, match="not finite") as info:
        load_stl(path)
    assert info.value.line == 4
    path.write_text("solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nbanana\n")
    with pytest.raises(FileFormatError, match="unexpected") as info:
        load_stl(path)
    assert info.value.line == 5
