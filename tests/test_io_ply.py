"""PLY: ASCII and binary (both byte orders) reading, writing and malformed files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io import IO, load_ply, save_ply
from r3d.io.ply import read_ply
from r3d.renderer import TexturesVertex

DATA = Path(__file__).parent / "data"


def _header(fmt: str, nv: int, nf: int, vprops: str = "float x\nproperty float y\nproperty "
            "float z", extra: str = "", face: str = "list uchar int vertex_indices") -> bytes:
    text = (f"ply\nformat {fmt} 1.0\ncomment test\nelement vertex {nv}\nproperty {vprops}\n"
            f"{extra}element face {nf}\nproperty {face}\nend_header\n")
    return text.encode()


def test_tet_binary_little_endian():
    verts, faces = load_ply(DATA / "tet.ply")
    assert verts.shape == (4, 3) and faces.shape == (4, 3)
    assert verts.dtype == torch.float32 and faces.dtype == torch.int64
    assert sorted(faces.unique().tolist()) == [0, 1, 2, 3]


def test_color_ply_normals_and_colours():
    ply = read_ply(DATA / "color.ply")
    assert ply.verts.shape == (3017, 3) and ply.faces.shape == (5537, 3)
    assert ply.normals.shape == (3017, 3) and ply.colors.shape == (3017, 3)
    assert 0 <= ply.colors.min() and ply.colors.max() <= 1
    assert len(np.unique(ply.colors, axis=0)) > 1000
    mesh = IO().load_mesh(DATA / "color.ply")
    assert isinstance(mesh.textures, TexturesVertex)
    cloud = IO().load_pointcloud(DATA / "color.ply")
    assert cloud.normals_list()[0].shape == (3017, 3)
    assert cloud.features_list()[0].shape == (3017, 3)


@pytest.mark.parametrize("ascii_, big_endian", [(True, False), (False, False), (False, True)])
def test_round_trip(tmp_path, ascii_, big_endian):
    g = torch.Generator().manual_seed(0)
    verts = torch.randn(50, 3, generator=g)
    faces = torch.randint(0, 50, (70, 3), generator=g)
    normals = torch.nn.functional.normalize(torch.randn(50, 3, generator=g), dim=1)
    colors = torch.randint(0, 256, (50, 3), generator=g).float() / 255
    path = tmp_path / "m.ply"
    save_ply(path, verts, faces, verts_normals=normals, verts_colors=colors, ascii=ascii_,
             big_endian=big_endian)
    fmt = ("ascii" if ascii_ else "binary_big_endian" if big_endian
           else "binary_little_endian")
    assert f"format {fmt} 1.0".encode() in path.read_bytes()[:100]
    v2, f2 = load_ply(path)
    assert torch.equal(v2, verts) and torch.equal(f2, faces)
    ply = read_ply(path)
    assert np.array_equal(ply.normals.astype(np.float32), normals.numpy())
    assert np.allclose(ply.colors, colors.numpy(), atol=1e-7)


def test_point_cloud_round_trip(tmp_path):
    from r3d.structures import Pointclouds

    pts = torch.rand(20, 3)
    cloud = Pointclouds(points=[pts], normals=[torch.rand(20, 3)], features=[torch.rand(20, 3)])
    IO().save_pointcloud(cloud, tmp_path / "c.PLY")
    back = IO().load_pointcloud(tmp_path / "c.PLY")
    assert torch.equal(back.points_list()[0], pts)
    assert torch.allclose(back.features_list()[0], cloud.features_list()[0], atol=1 / 510)
    verts, faces = load_ply(tmp_path / "c.PLY")
    assert faces.shape == (0, 3)
    with pytest.raises(FileFormatError, match="no faces.*point cloud"):
        IO().load_mesh(tmp_path / "c.PLY")


def test_ngons_vertex_index_and_types(tmp_path):
    header = _header("binary_big_endian", 5, 2, vprops="double x\nproperty double y\n"
                     "property double z\nproperty ushort red\nproperty ushort green\n"
                     "property ushort blue", face="list uchar ushort vertex_index")
    verts = np.arange(15, dtype=">f8").reshape(5, 3)
    rows = b"".join(struct.pack(">dddHHH", *v, 65535, 0, 65535) for v in verts.tolist())
    faces = struct.pack(">B4H", 4, 0, 1, 2, 3) + struct.pack(">B5H", 5, 0, 1, 2, 3, 4)
    path = tmp_path / "n.ply"
    path.write_bytes(header + rows + faces)
    ply = read_ply(path)
    assert ply.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 2], [0, 2, 3], [0, 3, 4]]
    assert np.array_equal(ply.verts, verts)
    assert np.array_equal(ply.colors, np.tile([1.0, 0, 1.0], (5, 1)))


def test_unknown_elements_and_lists_are_skipped(tmp_path):
    """An extra element with lists of varying length between vertex and face (binary)."""
    header = _header("binary_little_endian", 3, 1,
                     extra="element junk 2\nproperty list uint8 float values\nproperty int16 "
                           "tag\nproperty list int32 uint8 more\n")
    body = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    body += struct.pack("<B2fh", 2, 1.5, 2.5, 7) + struct.pack("<i3B", 3, 1, 2, 3)
    body += struct.pack("<Bh", 0, 8) + struct.pack("<i", 0)
    body += struct.pack("<B3i", 3, 2, 1, 0)
    path = tmp_path / "j.ply"
    path.write_bytes(header + body)
    verts, faces = load_ply(path)
    assert verts.shape == (3, 3) and faces.tolist() == [[2, 1, 0]]


def test_ascii_extra_columns_and_lists(tmp_path):
    path = tmp_path / "a.ply"
    path.write_bytes(_header("ascii", 4, 2, extra="", face="list uchar int vertex_indices\n"
                             "property list uchar float texcoord") +
                     b"0 0 0 9 9\n1 0 0\n\n0 1 0\n1 1 0\n3 0 1 2 2 0.5 0.5 77\n"
                     b"4 0 1 3 2 0 99\n")
    verts, faces = load_ply(path)
    assert verts.shape == (4, 3)
    assert faces.tolist() == [[0, 1, 2], [0, 1, 3], [0, 3, 2]]


def test_float_colours_and_tristrips(tmp_path):
    path = tmp_path / "f.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\n"
                     b"property float y\nproperty float z\nproperty float red\n"
                     b"property float green\nproperty float blue\nelement tristrips 1\n"
                     b"property list int int vertex_indices\nend_header\n"
                     b"0 0 0 0.5 0.25 1\n1 0 0 0 0 0\n0 1 0 1 1 1\n1 1 0 0 1 0\n"
                     b"4 0 1 2 3\n")
    ply = read_ply(path)
    assert np.allclose(ply.colors[0], [0.5, 0.25, 1.0])
    assert ply.faces.tolist() == [[0, 1, 2], [2, 1, 3]]


def _ascii(tmp_path: Path, body: bytes, **kw) -> Path:
    path = tmp_path / "bad.ply"
    path.write_bytes(_header("ascii", 3, 1, **kw) + body)
    return path


@pytest.mark.parametrize(
    "body, kw, line, match",
    [
        (b"0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n", {}, 14, "vertex indices"),
        (b"0 0 0\nnan 0 0\n0 1 0\n3 0 1 2\n", {}, 12, "not finite"),
        (b"0 0 0 0 0 1\n1 0 0 0 inf 1\n0 1 0 0 0 1\n3 0 1 2\n",
         {"vprops": "float x\nproperty float y\nproperty float z\nproperty float nx\n"
                    "property float ny\nproperty float nz"}, 15,
         "normal of vertex 1 is not finite"),
        (b"0 0 0 0 0\n1 0 0 1 0\n0 1 0 0 nan\n3 0 1 2\n",
         {"vprops": "float x\nproperty float y\nproperty float z\nproperty float u\n"
                    "property float v"}, 15, "texture coordinate of vertex 2 is not finite"),
        (b"0 0 0\n1 0\n0 1 0\n3 0 1 2\n", {}, 12, "too few"),
        (b"0 0 0\n1 x 0\n0 1 0\n3 0 1 2\n", {}, 12, "not a number"),
        (b"0 0 0\n1 0 0\n0 1 0\n", {}, 13, "ends after 0 of the 1 'face' rows"),
        (b"0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n", {}, 14, "says 4 values"),
        (b"", {"vprops": "float32 x\nproperty float y\nproperty quad z"}, 7,
         "unknown PLY property type 'quad'"),
    ],
)
def test_malformed_ascii_names_line(tmp_path, body, kw, line, match):
    path = _ascii(tmp_path, body, **kw)
    with pytest.raises(FileFormatError, match=match) as info:
        load_ply(path)
    assert info.value.path == str(path) and info.value.line == line


def test_malformed_binary(tmp_path):
    path = tmp_path / "t.ply"
    path.write_bytes(_header("binary_little_endian", 3, 1) + struct.pack("<7f", *range(7)))
    with pytest.raises(FileFormatError, match="truncated"):
        load_ply(path)
    path.write_bytes(_header("binary_little_endian", 3, 1) + struct.pack("<9f", *range(9))
                     + struct.pack("<B2i", 3, 0, 1))
    with pytest.raises(FileFormatError, match="truncated"):
        load_ply(path)
    path.write_bytes(_header("binary_little_endian", 3, 1) + struct.pack("<9f", *range(9))
                     + struct.pack("<B3i", 3, 0, 1, 5))
    with pytest.raises(FileFormatError, match="vertex indices"):
        load_ply(path)
    path.write_bytes(b"ply\nformat binary_middle_endian 1.0\nend_header\n")
    with pytest.raises(FileFormatError, match="unknown PLY format"):
        load_ply(path)
    path.write_bytes(b"solid x\n")
    with pytest.raises(FileFormatError, match="not a PLY"):
        load_ply(path)
    path.write_bytes(_header("ascii", 1, 0, vprops="float x\nproperty float y") + b"0 0\n")
    with pytest.raises(FileFormatError, match="no z"):
        load_ply(path)


def test_save_ply_bad_input(tmp_path):
    with pytest.raises(InputError, match="verts_normals"):
        save_ply(tmp_path / "x.ply", torch.rand(3, 3), verts_normals=torch.rand(2, 3))
    with pytest.raises(InputError, match="NaN"):
        save_ply(tmp_path / "x.ply", torch.tensor([[float("inf"), 0, 0]]))
    assert list(tmp_path.iterdir()) == []
