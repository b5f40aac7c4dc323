"""OBJ/MTL loading and saving."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import r3d
from r3d.errors import FileFormatError, InputError
from r3d.io import load_obj, load_objs_as_meshes, save_obj
from r3d.renderer import TexturesAtlas, TexturesUV, TexturesVertex

DATA = Path(__file__).parent / "data"
COW = DATA / "cow" / "cow.obj"


def _write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def _sample(img: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup (align_corners=True) of (T, 2) UVs, v up, in an (H, W, C) image."""
    grid = torch.stack([uv[:, 0] * 2 - 1, (1 - uv[:, 1]) * 2 - 1], dim=-1)
    out = torch.nn.functional.grid_sample(img.permute(2, 0, 1)[None], grid[None, None],
                                          mode="bilinear", padding_mode="border",
                                          align_corners=True)
    return out[0, :, 0].T


# -- the cow -----------------------------------------------------------------------------------


def test_cow_counts_and_texture():
    verts, faces, aux = load_obj(COW)
    assert verts.shape == (2930, 3) and verts.dtype == torch.float32
    assert faces.verts_idx.shape == (5856, 3) and faces.verts_idx.dtype == torch.int64
    assert aux.verts_uvs.shape == (3225, 2)
    assert faces.textures_idx.shape == (5856, 3)
    assert int(faces.textures_idx.min()) >= 0 and int(faces.textures_idx.max()) < 3225
    assert torch.all(faces.normals_idx == -1) and aux.normals is None
    assert torch.all(faces.materials_idx == 0)
    assert list(aux.material_colors) == ["material_1"]
    assert torch.equal(aux.material_colors["material_1"]["specular_color"], torch.zeros(3))
    img = aux.texture_images["material_1"]
    assert img.shape == (1024, 1024, 3) and 0.0 <= float(img.min()) <= float(img.max()) <= 1.0
    assert aux.texture_atlas is None and aux.verts_colors is None
    # first vertex of the file, in file order
    assert torch.allclose(verts[0], torch.tensor([0.348799, -0.334989, -0.0832331]))


def test_cow_as_meshes():
    mesh = load_objs_as_meshes([COW])
    assert mesh.verts_packed().shape == (2930, 3) and mesh.faces_packed().shape == (5856, 3)
    tex = mesh.textures
    assert isinstance(tex, TexturesUV)
    assert tex.maps_padded().shape == (1, 1024, 1024, 3)
    _, faces, aux = load_obj(COW, load_textures=False)
    assert aux.material_colors is None and aux.texture_images is None
    assert torch.equal(tex.faces_uvs_list()[0], faces.textures_idx)
    assert load_objs_as_meshes([COW], load_textures=False).textures is None


def test_bundled_cow_asset():
    asset = Path(r3d.__file__).parent / "assets" / "cow"
    assert (asset / "README.md").is_file()
    for name in ("cow.obj", "cow.mtl", "cow_texture.png"):
        assert (asset / name).read_bytes() == (DATA / "cow" / name).read_bytes()


def test_batch_of_two_and_atlas():
    mesh = load_objs_as_meshes([COW, DATA / "rabbit.obj"])
    assert len(mesh) == 2 and isinstance(mesh.textures, TexturesUV)
    assert mesh.num_verts_per_mesh().tolist() == [2930, 644]
    atlas = load_objs_as_meshes([COW], create_texture_atlas=True, texture_atlas_size=3)
    assert isinstance(atlas.textures, TexturesAtlas)
    assert atlas.textures.atlas_packed().shape == (5856, 3, 3, 3)


# -- syntax --------------------------------------------------------------------------------


def test_polygons_negative_indices_slashes_continuation_crlf(tmp_path):
    text = (
        "# comment\n"
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0.5 1.5 0 # a comment\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5\n"
        "vn 0 0 1\n"
        "g quad\n"
        "f -5/-5/-1 -4/-4/-1 -3/-3/-1 \\\n  -2/-2/-1\n"
        "f 3/3/ 5/5/ 4/4/\n"
        "f 1//1 2//1 5//1\n"
        "f 1 2 3 4 5\n"
    )
    for newline in ("\n", "\r\n"):
        path = _write(tmp_path / "poly.obj", text, newline)
        verts, faces, aux = load_obj(path)
        assert verts.shape == (5, 3)
        assert faces.verts_idx.tolist() == [
            [0, 1, 2], [0, 2, 3], [2, 4, 3], [0, 1, 4], [0, 1, 2], [0, 2, 3], [0, 3, 4]]
        assert faces.textures_idx.tolist()[:3] == [[0, 1, 2], [0, 2, 3], [2, 4, 3]]
        assert faces.textures_idx.tolist()[3:] == [[-1] * 3] * 4
        assert faces.normals_idx.tolist()[:2] == [[0, 0, 0]] * 2
        assert faces.normals_idx.tolist()[2] == [-1] * 3
        assert faces.normals_idx.tolist()[3] == [0, 0, 0]
        assert aux.verts_uvs[4].tolist() == [0.5, 0.0]


def test_vertex_colors(tmp_path):
    path = _write(tmp_path / "c.obj",
                  "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 255\nf 1 2 3\n")
    _, _, aux = load_obj(path)
    expected = torch.tensor([[1 / 255, 0, 0], [0, 1 / 255, 0], [0, 0, 1]])
    assert torch.allclose(aux.verts_colors, expected)
    path = _write(tmp_path / "c.obj", "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nf 1 2 3\n")
    mesh = load_objs_as_meshes([path])
    assert isinstance(mesh.textures, TexturesVertex)
    assert mesh.textures.verts_features_list()[0].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert load_obj(path, load_textures=False)[2].verts_colors is None


@pytest.mark.parametrize(
    "body, line, match",
    [
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", 4,
         r"vertex indices \[1, 2, 4\] but the file has 3 vertices \(valid indices: 1 to 3\)"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", 4, "points before the first vertex"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", 4, "index 0"),
        ("v 0 0 0\nv 1 x 0\n", 2, "expects numbers"),
        ("v 0 0\n", 1, "at least 3"),
        ("v 0 0 0\nv nan 0 0\nv 0 1 0\nf 1 2 3\n", 2, "not finite"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 a\n", 4, "not an integer"),
    ],
)
def test_malformed_obj_names_file_and_line(tmp_path, body, line, match):
    path = _write(tmp_path / "bad.obj", body)
    with pytest.raises(FileFormatError, match=match) as info:
        load_obj(path)
    assert info.value.path == str(path) and info.value.line == line
    assert f"bad.obj:{line}:" in str(info.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no such file") as info:
        load_obj(DATA / "nope.obj")
    assert info.value.filename.endswith("nope.obj")


def test_text_that_is_not_obj_names_its_size(tmp_path):
    path = tmp_path / "notes.obj"
    path.write_text("hello world\n")
    with pytest.raises(FileFormatError, match=r"notes.obj: no geometry found in 12 bytes: the "
                                              r"file holds no vertices \('v' lines\)"):
        load_obj(path)
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match="notes.obj: the file is empty"):
        load_obj(path)


# -- materials ---------------------------------------------------------------------------


def _two_material_obj(tmp_path: Path) -> Path:
    (tmp_path / "tex").mkdir()
    red_green = np.zeros((4, 8, 3), np.uint8)
    red_green[:, :4, 0] = 255
    red_green[:, 4:, 1] = 255
    Image.fromarray(red_green).save(tmp_path / "tex" / "a.png")
    Image.fromarray(np.full((2, 2, 3), 40, np.uint8)).save(tmp_path / "b file.png")
    _write(tmp_path / "m.mtl", (
        "newmtl imgA\nKa 0.1 0.2 0.3\nKd 1 1 1\nKs 0.5 0.5 0.5\nNs 20\n"
        "map_Kd -s 1 1 1 -o 0 0 -clamp on tex/a.png\n"
        "newmtl blue\nKd 0 0 1\n"
        "newmtl imgB\nmap_Kd b file.png\n"
    ))
    return _write(tmp_path / "m.obj", (
        "mtllib m.mtl\n"
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n"
        "vt 0.1 0.5\nvt 0.2 0.5\nvt 0.1 0.9\nvt 0.9 0.5\nvt 0.8 0.5\nvt 0.9 0.9\n"
        "usemtl imgA\nf 1/1 2/2 3/3\nf 2/4 4/5 3/6\n"
        "usemtl blue\nf 1 2 4\n"
        "usemtl imgB\nf 1/1 3/2 4/3\n"
        "usemtl\nf 1 3 4\n"
    ))


def test_several_materials(tmp_path):
    path = _two_material_obj(tmp_path)
    _, faces, aux = load_obj(path)
    assert list(aux.material_colors) == ["imgA", "blue", "imgB"]
    assert faces.materials_idx.tolist() == [0, 0, 1, 2, -1]
    a = aux.material_colors["imgA"]
    assert torch.allclose(a["ambient_color"], torch.tensor([0.1, 0.2, 0.3]))
    assert torch.allclose(a["specular_color"], torch.tensor([0.5, 0.5, 0.5]))
    assert float(a["shininess"][0]) == 20.0
    assert set(aux.texture_images) == {"imgA", "imgB"}
    assert aux.texture_images["imgA"].shape == (4, 8, 3)

    mesh = load_objs_as_meshes([path])
    tex = mesh.textures
    assert isinstance(tex, TexturesUV) and len(tex) == 1
    uv = tex.verts_uvs_list()[0][tex.faces_uvs_list()[0]]  # (F, 3, 2)
    colors = _sample(tex.maps_list()[0], uv.reshape(-1, 2)).reshape(5, 3, 3)
    red, green = torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0])
    assert torch.allclose(colors[0], red.expand(3, 3), atol=1e-6)
    assert torch.allclose(colors[1], green.expand(3, 3), atol=1e-6)
    assert torch.allclose(colors[2], torch.tensor([0, 0, 1.0]).expand(3, 3), atol=1e-6)
    assert torch.allclose(colors[3], torch.full((3, 3), 40 / 255), atol=1e-6)
    assert torch.allclose(colors[4], torch.ones(3, 3), atol=1e-6)  # no material: white

    atlas = load_objs_as_meshes([path], create_texture_atlas=True, texture_atlas_size=2)
    at = atlas.textures.atlas_packed()
    assert at.shape == (5, 2, 2, 3)
    assert torch.allclose(at[0], red.expand(2, 2, 3), atol=1e-6)
    assert torch.allclose(at[2], torch.tensor([0, 0, 1.0]).expand(2, 2, 3))


def test_missing_mtl_and_image_warn(tmp_path):
    path = _write(tmp_path / "a.obj", "mtllib gone.mtl\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\n"
                                      "f 1 2 3\n")
    with pytest.warns(UserWarning, match="gone.mtl"):
        mesh = load_objs_as_meshes([path])
    assert mesh.faces_packed().shape == (1, 3) and mesh.textures is None
    _write(tmp_path / "b.mtl", "newmtl x\nKd 0.5 0.5 0.5\nmap_Kd missing.png\n")
    path = _write(tmp_path / "b.obj", "mtllib b.mtl\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\n"
                                      "f 1 2 3\n")
    with pytest.warns(UserWarning, match="missing.png"):
        mesh = load_objs_as_meshes([path])
    colors = mesh.textures.maps_list()[0]
    assert torch.allclose(colors, torch.full_like(colors, 0.5))


# -- saving ----------------------------------------------------------------------------------


def test_save_obj_round_trip_with_texture(tmp_path):
    verts, faces, aux = load_obj(COW)
    out = tmp_path / "cow out.obj"
    save_obj(out, verts, faces.verts_idx, verts_uvs=aux.verts_uvs,
             faces_uvs=faces.textures_idx, texture_map=aux.texture_images["material_1"])
    assert sorted(os.listdir(tmp_path)) == ["cow out.mtl", "cow out.obj", "cow out.png"]
    v2, f2, a2 = load_obj(out)
    assert torch.equal(v2, verts)
    assert torch.equal(f2.verts_idx, faces.verts_idx)
    assert torch.equal(f2.textures_idx, faces.textures_idx)
    assert torch.equal(a2.verts_uvs, aux.verts_uvs)
    assert torch.equal(a2.texture_images["mesh"], aux.texture_images["material_1"])


def test_save_obj_normals_colors_decimals(tmp_path):
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    faces = torch.tensor([[0, 1, 2]])
    normals = torch.tensor([[0.0, 0, 1]])
    out = tmp_path / "n.obj"
    save_obj(out, verts, faces, normals=normals, faces_normals_idx=torch.zeros(1, 3,
                                                                              dtype=torch.long),
             verts_colors=torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]), decimal_places=3)
    text = out.read_text()
    assert "v 1.000 0.000 0.000 0.000 1.000 0.000" in text and "f 1//1 2//1 3//1" in text
    _, f2, a2 = load_obj(out)
    assert torch.equal(a2.normals, normals) and f2.normals_idx.tolist() == [[0, 0, 0]]
    assert a2.verts_colors.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"verts": torch.tensor([[0.0, 0, float("nan")]] * 3)}, "NaN"),
        ({"verts": torch.zeros(3, 2)}, "shape"),
        ({"faces": torch.tensor([[0, 1, 3]])}, "indices"),
        ({"faces": torch.tensor([[0.5, 1, 2]])}, "not whole numbers"),
        ({"texture_map": torch.rand(2, 2, 3)}, "verts_uvs"),
    ],
)
def test_save_obj_bad_input_writes_nothing(tmp_path, kwargs, match):
    args = {"verts": torch.rand(3, 3), "faces": torch.tensor([[0, 1, 2]])}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        save_obj(tmp_path / "x.obj", args.pop("verts"), args.pop("faces"), **args)
    assert os.listdir(tmp_path) == []


def test_save_obj_atomic_when_image_encoding_fails(tmp_path):
    out = tmp_path / "keep.obj"
    out.write_text("old")
    with pytest.raises(InputError):
        save_obj(out, torch.rand(3, 3), torch.tensor([[0, 1, 2]]), verts_uvs=torch.rand(3, 2),
                 texture_map=torch.full((2, 2, 3), float("nan")))
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["keep.obj"]


def test_rabbit_ngons_and_colours():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        verts, faces, aux = load_obj(DATA / "rabbit.obj")
    assert verts.shape == (644, 3) and faces.verts_idx.shape == (1252, 3)
    assert aux.normals.shape == (732, 3) and aux.texture_images == {}
    mesh = load_objs_as_meshes([DATA / "rabbit.obj"])
    assert isinstance(mesh.textures, TexturesUV)
    verts, faces, _ = load_obj(DATA / "spot" / "spot_control_mesh.obj")
    assert verts.shape == (188, 3) and faces.verts_idx.shape == (4 + 160 * 2 + 16 * 3, 3)
