"""Texture wrap modes through the loaders and savers: glTF samplers (wrapS / wrapT: REPEAT,
MIRRORED_REPEAT, CLAMP_TO_EDGE), OBJ's repeating UVs and MTL's ``-clamp on``, materials with
different wraps packed into one map, and the wrap written back."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from r3d.errors import InputError
from r3d.io import IO, load_obj, load_objs_as_meshes, save_gltf, save_obj
from r3d.renderer import TexturesUV
from r3d.structures import Meshes

REPEAT, MIRRORED, CLAMP = 10497, 33648, 33071
W, H = 4, 5
# texel (row, col): red col * 85 / 255, green row * 60 / 255 (exact in 8 bits)
_ROW, _COL = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
IMAGE = np.stack([_COL * 85, _ROW * 60, np.full((H, W), 200)], axis=-1).astype(np.uint8)
# three corners in glTF's UVs (v down), none on a seam; with align_corners=True (the loaders')
# u = c / 3 is column c's centre and v_gltf = r / 4 row r's
CORNERS_GLTF = [(1 + 1 / 3, 1.25), (-1 / 3, 0.25), (2 + 2 / 3, 0.5)]
# the column (u) and row (v) each corner reads, per wrap mode
COLUMNS = {REPEAT: [1, 2, 2], MIRRORED: [2, 1, 2], CLAMP: [3, 0, 3]}
ROWS = {REPEAT: [1, 1, 2], MIRRORED: [3, 1, 2], CLAMP: [4, 1, 2]}


def _texel(row: int, col: int) -> list[float]:
    return (IMAGE[row, col] / 255.0).tolist()


def _expected(wrap_s: int, wrap_t: int) -> torch.Tensor:
    """(3, 3) colours of the three corners under sampler (wrapS, wrapT)."""
    return torch.tensor([_texel(r, c) for r, c in zip(ROWS[wrap_t], COLUMNS[wrap_s])])


def _png() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(IMAGE).save(buffer, format="PNG")
    return buffer.getvalue()


def _gltf(tmp_path: Path, samplers: list[tuple[int, int] | None]) -> Path:
    """One triangle per entry of ``samplers`` (side by side), each with its own material
    whose texture (the same image) has that sampler (None: no sampler), UVs CORNERS_GLTF."""
    pos, uv, idx = [], [], []
    for k in range(len(samplers)):
        pos.append(np.array([[k, 0, 0], [k + 1, 0, 0], [k, 1, 0]], "<f4"))
        uv.append(np.array(CORNERS_GLTF, "<f4"))
        idx.append(np.array([0, 1, 2], "<u2"))
    png = _png()
    blob, views, accessors, prims = b"", [], [], []

    def add(data: bytes, **accessor) -> int:
        nonlocal blob
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)})
        blob += data + b"\0" * (-len(data) % 4)
        if accessor:
            accessors.append({"bufferView": len(views) - 1, **accessor})
            return len(accessors) - 1
        return len(views) - 1

    for k, (p, t, i) in enumerate(zip(pos, uv, idx)):
        prims.append({"attributes": {
            "POSITION": add(p.tobytes(), componentType=5126, count=3, type="VEC3",
                            min=p.min(0).tolist(), max=p.max(0).tolist()),
            "TEXCOORD_0": add(t.tobytes(), componentType=5126, count=3, type="VEC2")},
            "indices": add(i.tobytes(), componentType=5123, count=3, type="SCALAR"),
            "material": k})
    image_view = add(png)
    textures, sampler_list = [], []
    for s in samplers:
        texture = {"source": 0}
        if s is not None:
            texture["sampler"] = len(sampler_list)
            sampler_list.append({"wrapS": s[0], "wrapT": s[1]})
        textures.append(texture)
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}], "meshes": [{"primitives": prims}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": k}}}
                      for k in range(len(samplers))],
        "textures": textures, "samplers": sampler_list,
        "images": [{"bufferView": image_view, "mimeType": "image/png"}],
        "buffers": [{"byteLength": len(blob), "uri": "data:application/octet-stream;base64,"
                     + base64.b64encode(blob).decode()}],
        "bufferViews": views, "accessors": accessors,
    }
    path = tmp_path / "wrap.gltf"
    path.write_text(json.dumps(doc))
    return path


def _corner_colours(tex: TexturesUV) -> torch.Tensor:
    """(F, 3, 3) texture colours at each face's corners."""
    return tex.faces_verts_textures_packed()


@pytest.mark.parametrize("sampler", [(REPEAT, REPEAT), (MIRRORED, CLAMP), (CLAMP, MIRRORED),
                                     (REPEAT, MIRRORED), None])
def test_gltf_sampler_wraps_uvs_outside_0_1(tmp_path, sampler):
    tex = IO().load_mesh(_gltf(tmp_path, [sampler])).textures
    names = {REPEAT: "repeat", MIRRORED: "reflection", CLAMP: "border"}
    wrap_s, wrap_t = sampler or (REPEAT, REPEAT)  # no sampler: REPEAT, as the spec says
    mode = (names[wrap_s], names[wrap_t])
    assert tex.padding_mode == (mode[0] if mode[0] == mode[1] else mode)
    torch.testing.assert_close(_corner_colours(tex)[0], _expected(wrap_s, wrap_t))


def test_gltf_materials_with_different_wraps_are_packed_keeping_them(tmp_path):
    samplers = [(REPEAT, REPEAT), (MIRRORED, CLAMP), (CLAMP, REPEAT)]
    tex = IO().load_mesh(_gltf(tmp_path, samplers)).textures
    assert tex.padding_mode == "border"  # one packed map
    colours = _corner_colours(tex)
    for k, (s, t) in enumerate(samplers):
        torch.testing.assert_close(colours[k], _expected(s, t), atol=1e-5, rtol=0)


def test_unknown_wrap_code_warns_and_repeats(tmp_path):
    with pytest.warns(UserWarning, match="wrapS is 1234"):
        tex = IO().load_mesh(_gltf(tmp_path, [(1234, CLAMP)])).textures
    assert tex.padding_mode == ("repeat", "border")


@pytest.mark.parametrize("ext", [".glb", ".gltf"])
def test_gltf_writer_round_trips_the_wrap(tmp_path, ext):
    mesh = IO().load_mesh(_gltf(tmp_path, [(MIRRORED, CLAMP)]))
    tex = mesh.textures
    out = tmp_path / f"back{ext}"
    save_gltf(out, mesh.verts_packed(), mesh.faces_packed(), verts_uvs=tex.verts_uvs_list()[0],
              faces_uvs=tex.faces_uvs_list()[0], texture_map=tex.maps_list()[0],
              texture_wrap=tex.padding_mode)
    back = IO().load_mesh(out).textures
    assert back.padding_mode == ("reflection", "border")
    torch.testing.assert_close(_corner_colours(back), _corner_colours(tex))


def test_gltf_writer_wrap_errors_and_zeros(tmp_path):
    verts, faces = torch.rand(3, 3), torch.tensor([[0, 1, 2]])
    uvs = torch.rand(3, 2)
    with pytest.raises(InputError, match="save_gltf: texture_wrap"):
        save_gltf(tmp_path / "a.glb", verts, faces, verts_uvs=uvs, texture_map=torch.rand(2, 2, 3),
                  texture_wrap="mirror")
    assert not (tmp_path / "a.glb").exists()
    with pytest.warns(UserWarning, match="CLAMP_TO_EDGE"):
        save_gltf(tmp_path / "z.gltf", verts, faces, verts_uvs=uvs,
                  texture_map=torch.rand(2, 2, 3), texture_wrap=("zeros", "repeat"))
    sampler = json.loads((tmp_path / "z.gltf").read_text())["samplers"][0]
    assert (sampler["wrapS"], sampler["wrapT"]) == (CLAMP, REPEAT)


# ---- OBJ -------------------------------------------------------------------------------------

# corners in r3d's UVs (v up), the same texels as CORNERS_GLTF
CORNERS = [(u, 1 - v) for u, v in CORNERS_GLTF]


def _obj(tmp_path: Path, clamp: str | None = None, colour_material: bool = False) -> Path:
    """A triangle with UVs CORNERS and the image as map_Kd (``-clamp clamp`` when given); with
    ``colour_material`` a second triangle uses a plain Kd colour, so the materials are
    packed."""
    Image.fromarray(IMAGE).save(tmp_path / "tex.png")
    option = f"-clamp {clamp} " if clamp else ""
    mtl = f"newmtl img\nmap_Kd {option}tex.png\nnewmtl red\nKd 1 0 0\n"
    (tmp_path / "m.mtl").write_text(mtl)
    lines = ["mtllib m.mtl", "v 0 0 0", "v 1 0 0", "v 0 1 0", "v 1 1 0"]
    lines += [f"vt {u} {v}" for u, v in CORNERS]
    lines += ["usemtl img", "f 1/1 2/2 3/3"]
    if colour_material:
        lines += ["usemtl red", "f 2/1 4/2 3/3"]
    path = tmp_path / "m.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("clamp, wrap", [(None, REPEAT), ("off", REPEAT), ("on", CLAMP)])
def test_obj_repeats_unless_mtl_clamps(tmp_path, clamp, wrap):
    tex = load_objs_as_meshes([_obj(tmp_path, clamp)]).textures
    assert tex.padding_mode == ("border" if wrap == CLAMP else "repeat")
    torch.testing.assert_close(_corner_colours(tex)[0], _expected(wrap, wrap))


@pytest.mark.parametrize("clamp, wrap", [(None, REPEAT), ("on", CLAMP)])
def test_obj_packed_materials_keep_the_wrap(tmp_path, clamp, wrap):
    tex = load_objs_as_meshes([_obj(tmp_path, clamp, colour_material=True)]).textures
    assert tex.padding_mode == "border"  # the image and the red patch packed
    colours = _corner_colours(tex)
    torch.testing.assert_close(colours[0], _expected(wrap, wrap), atol=1e-5, rtol=0)
    torch.testing.assert_close(colours[1], torch.tensor([[1.0, 0, 0]] * 3))


def test_obj_texture_wrap_clamp_clamps_every_material(tmp_path):
    tex = load_objs_as_meshes([_obj(tmp_path)], texture_wrap="clamp").textures
    assert tex.padding_mode == "border"
    torch.testing.assert_close(_corner_colours(tex)[0], _expected(CLAMP, CLAMP))
    with pytest.raises(InputError, match="texture_wrap must be"):
        load_objs_as_meshes([_obj(tmp_path)], texture_wrap="mirror")


def test_obj_atlas_samples_with_each_materials_wrap(tmp_path):
    for clamp, wrap in ((None, REPEAT), ("on", CLAMP)):
        _, _, aux = load_obj(_obj(tmp_path, clamp), create_texture_atlas=True,
                             texture_atlas_size=1)
        # a 1x1 atlas samples the face at barycentrics (1/3, 1/3, 1/3): the mean UV
        u, v = np.mean(CORNERS, axis=0)
        expected = TexturesUV([torch.from_numpy(IMAGE / 255.0).float()],
                              [torch.tensor([[0, 0, 0]])], [torch.tensor([[u, v]]).float()],
                              padding_mode="border" if wrap == CLAMP else "repeat")
        torch.testing.assert_close(aux.texture_atlas[0, 0, 0],
                                   expected.faces_verts_textures_packed()[0, 0])


def test_mtl_clamp_with_a_bad_value_warns(tmp_path):
    with pytest.warns(UserWarning, match="-clamp takes on or off"):
        tex = load_objs_as_meshes([_obj(tmp_path, "maybe")]).textures
    assert tex.padding_mode == "repeat"


@pytest.mark.parametrize("wrap, clamp_line", [("border", True), ("repeat", False)])
def test_obj_writer_round_trips_clamp(tmp_path, wrap, clamp_line):
    out = tmp_path / "out" / "w.obj"
    out.parent.mkdir()
    uvs = torch.tensor(CORNERS, dtype=torch.float32)
    save_obj(out, torch.rand(3, 3), torch.tensor([[0, 1, 2]]), verts_uvs=uvs,
             faces_uvs=torch.tensor([[0, 1, 2]]),
             texture_map=torch.from_numpy(IMAGE / 255.0).float(), texture_wrap=wrap)
    assert ("-clamp on" in out.with_suffix(".mtl").read_text()) == clamp_line
    tex = load_objs_as_meshes([out]).textures
    assert tex.padding_mode == wrap
    mode = CLAMP if wrap == "border" else REPEAT
    torch.testing.assert_close(_corner_colours(tex)[0], _expected(mode, mode))


def test_obj_writer_warns_for_a_wrap_mtl_cannot_hold(tmp_path):
    with pytest.warns(UserWarning, match="written as repeat"):
        save_obj(tmp_path / "r.obj", torch.rand(3, 3), torch.tensor([[0, 1, 2]]),
                 verts_uvs=torch.rand(3, 2), faces_uvs=torch.tensor([[0, 1, 2]]),
                 texture_map=torch.rand(2, 2, 3), texture_wrap="reflection")


@pytest.mark.parametrize(("ext", "mode"), [(".glb", "reflection"), (".glb", "repeat"),
                                           (".glb", "border"), (".obj", "repeat"),
                                           (".obj", "border")])
def test_io_registry_saves_the_wrap_mode_of_uv_textures(tmp_path, ext, mode):
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    faces = torch.tensor([[0, 1, 2]])
    uvs = torch.tensor([[0.0, 0.0], [2.5, 0.0], [0.0, 1.5]])
    tex = TexturesUV(maps=torch.rand(1, 4, 4, 3), faces_uvs=[faces], verts_uvs=[uvs],
                     padding_mode=mode)
    path = tmp_path / f"mesh{ext}"
    IO().save_mesh(Meshes([verts], [faces], textures=tex), path)
    assert IO().load_mesh(path).textures.padding_mode == mode
