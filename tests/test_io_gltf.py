"""glTF / GLB reading and writing."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from r3d.errors import FileFormatError
from r3d.io import IO, load_gltf, load_obj, save_gltf
from r3d.renderer import TexturesUV, TexturesVertex

DATA = Path(__file__).parent / "data"


def test_cow_glb_matches_cow_obj():
    mesh = IO().load_mesh(DATA / "cow.glb")
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    assert verts.shape == (3225, 3) and faces.shape == (5856, 3)
    tex = mesh.textures
    assert isinstance(tex, TexturesUV) and tex.maps_padded().shape == (1, 1024, 1024, 3)
    v_obj, f_obj, aux = load_obj(DATA / "cow" / "cow.obj")
    # same triangles in the same order, same UVs per corner (glTF's v flipped), same image
    assert torch.allclose(verts[faces], v_obj[f_obj.verts_idx], atol=1e-6)
    uv_glb = tex.verts_uvs_list()[0][tex.faces_uvs_list()[0]]
    uv_obj = aux.verts_uvs[f_obj.textures_idx]
    assert torch.allclose(uv_glb, uv_obj, atol=1e-6)
    assert torch.equal(tex.maps_list()[0], aux.texture_images["material_1"])


def test_box_textured_and_vertex_colours():
    mesh = IO().load_mesh(DATA / "BoxTextured.glb")
    assert mesh.verts_packed().shape == (24, 3) and mesh.faces_packed().shape == (12, 3)
    assert isinstance(mesh.textures, TexturesUV)
    mesh = IO().load_mesh(DATA / "cubevc.glb")
    assert mesh.verts_packed().shape == (54, 3) and mesh.faces_packed().shape == (48, 3)
    assert isinstance(mesh.textures, TexturesVertex)
    colors = mesh.textures.verts_features_list()[0]
    assert colors.shape == (54, 3)
    assert torch.equal(colors, torch.tensor([1.0, 0, 1]).expand(54, 3))  # the file's magenta


def test_strip_with_external_buffer():
    verts, faces = load_gltf(DATA / "edge_cases" / "gltf_strip" / "Mesh_PrimitiveMode_04.gltf")
    assert verts.shape == (4, 3) and faces.tolist() == [[0, 1, 2], [1, 3, 2]]


def _gltf(tmp_path: Path, nodes: list, scenes=None, mode: int = 4, indices=None) -> Path:
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], "<f4")
    blob = pos.tobytes()
    accessors = [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3"}]
    views = [{"buffer": 0, "byteLength": len(blob)}]
    prim = {"attributes": {"POSITION": 0}, "mode": mode}
    if indices is not None:
        idx = np.asarray(indices, "<u2").tobytes()
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(idx)})
        accessors.append({"bufferView": 1, "componentType": 5123, "count": len(indices),
                          "type": "SCALAR"})
        prim["indices"] = 1
        blob += idx
    doc = {
        "asset": {"version": "2.0"},
        "buffers": [{"byteLength": len(blob), "uri": "data:application/octet-stream;base64,"
                     + base64.b64encode(blob).decode()}],
        "bufferViews": views, "accessors": accessors,
        "meshes": [{"primitives": [prim]}], "nodes": nodes,
    }
    if scenes is not None:
        doc["scenes"] = scenes
        doc["scene"] = 0
    path = tmp_path / "t.gltf"
    path.write_text(json.dumps(doc))
    return path


def test_node_transforms_and_fans(tmp_path):
    nodes = [
        {"children": [1, 2], "translation": [10, 0, 0]},
        {"mesh": 0, "scale": [2, 2, 2]},
        {"mesh": 0, "rotation": [0, 0, 0.7071068, 0.7071068]},  # 90 degrees about z
        {"mesh": 0, "matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1]},
    ]
    path = _gltf(tmp_path, nodes, scenes=[{"nodes": [0, 3]}], indices=[0, 1, 2, 1, 3, 2])
    verts, faces = load_gltf(path)
    assert verts.shape == (12, 3) and faces.shape == (6, 3)
    assert torch.allclose(verts[1], torch.tensor([12.0, 0, 0]))  # scaled then translated
    assert torch.allclose(verts[5], torch.tensor([10.0, 1, 0]), atol=1e-6)  # rotated
    assert torch.allclose(verts[9], torch.tensor([1.0, 0, 5]))  # matrix translation
    assert faces[2:4].tolist() == [[4, 5, 6], [5, 7, 6]]
    fan, tris = load_gltf(_gltf(tmp_path, [{"mesh": 0}], mode=6))
    assert tris.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_malformed(tmp_path):
    path = _gltf(tmp_path, [{"mesh": 0}], indices=[0, 1, 7])
    with pytest.raises(FileFormatError, match="indices up to 7"):
        load_gltf(path)
    doc = json.loads(path.read_text())
    doc["buffers"][0]["uri"] = "missing.bin"
    path.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match="missing.bin"):
        load_gltf(path)
    path.write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_gltf(path)
    glb = tmp_path / "t.glb"
    glb.write_bytes(b"glTF" + struct.pack("<II", 2, 1000) + b"\0" * 20)
    with pytest.raises(FileFormatError, match="truncated"):
        load_gltf(glb)
    with pytest.raises(FileFormatError, match="no mesh"):
        load_gltf(DATA / "edge_cases" / "empty_nodes.glb")


@pytest.mark.parametrize("ext", [".glb", ".gltf"])
def test_round_trip_textured(tmp_path, ext):
    mesh = IO().load_mesh(DATA / "cow" / "cow.obj")
    out = tmp_path / f"cow{ext}"
    IO().save_mesh(mesh, out)
    if ext == ".glb":
        assert out.read_bytes()[:4] == b"glTF"
    else:
        assert json.loads(out.read_text())["asset"]["version"] == "2.0"
    back = IO().load_mesh(out)
    # vertices are split where a position has several UVs; the triangles stay the same
    v0, f0 = mesh.verts_packed(), mesh.faces_packed()
    v1, f1 = back.verts_packed(), back.faces_packed()
    assert v1.shape[0] >= v0.shape[0] and torch.equal(v1[f1], v0[f0])
    t0, t1 = mesh.textures, back.textures
    uv0 = t0.verts_uvs_list()[0][t0.faces_uvs_list()[0]]
    uv1 = t1.verts_uvs_list()[0][t1.faces_uvs_list()[0]]
    assert torch.allclose(uv0, uv1, atol=1e-6)
    assert torch.equal(t0.maps_list()[0], t1.maps_list()[0])


def test_round_trip_vertex_colours(tmp_path):
    verts = torch.rand(4, 3)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    colors = torch.rand(4, 3)
    save_gltf(tmp_path / "c.glb", verts, faces, verts_colors=colors)
    mesh = IO().load_mesh(tmp_path / "c.glb")
    assert torch.equal(mesh.verts_packed(), verts) and torch.equal(mesh.faces_packed(), faces)
    assert torch.equal(mesh.textures.verts_features_list()[0], colors)
