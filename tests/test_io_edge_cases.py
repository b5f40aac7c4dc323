"""Every file in tests/data/edge_cases: the expected mesh, or a FileFormatError naming it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from r3d.errors import FileFormatError
from r3d.io import IO

EDGE = Path(__file__).parent / "data" / "edge_cases"

# file -> (vertices, triangles) that IO().load_mesh gives, or (error regex, line or None).
MESHES = {
    "negative_indices.obj": (8, 12),
    "notenoughindices.obj": (3, 1),  # the 2-corner "face" is skipped with a warning
    "polygonfaces.obj": (5, 3),
    "jacked.obj": (8, 12),
    "wallhole.obj": (92, 66),
    "obj_with_no_face_in_chunk.obj": (3, 1),
    "face_in_group_name_mid_file.obj": (5, 2),  # normals that do not exist are dropped
    "joined_tetrahedra.obj": (5, 8),
    "two_objects.obj": (12, 16),
    "missing_texture/model.obj": (4, 2),
    "mtl_no_image/model.obj": (4, 2),
    "metadata.ply": (4, 2),
    "fuze_ascii.ply": (502, 1000),
    "comments.off": (8, 12),
    "whitespace.off": (8, 12),
    "unit_cube.STL": (36, 12),
    "multibody.stl": (96, 32),
    "gltf_strip/Mesh_PrimitiveMode_04.gltf": (4, 2),
    "nancolor.obj": (8, 12),  # the NaN colour drops the colours (with a warning), not the mesh
    "obj_points.obj": ("8 vertices but no faces.*point cloud", None),
    "obj_wireframe.obj": ("8 vertices but no faces.*point cloud", None),
    "points_ascii_with_lists.ply": ("5 vertices but no faces.*point cloud", None),
    "empty.ply": ("empty", None),
    "ply_empty_header.ply": ("empty", None),
    "empty.stl": ("empty", None),
    "stl_empty_bin.stl": ("empty", None),
    "empty_nodes.glb": ("empty.*no mesh", None),
}

# point clouds for the files that have points but no faces, and the NaN-colour file
POINTS = {
    "obj_points.obj": 8,
    "obj_wireframe.obj": 8,
    "points_ascii_with_lists.ply": 5,
    "fuze_ascii.ply": 502,
    "comments.off": 8,
    "nancolor.obj": 8,
}

DATA_FILES = sorted(
    str(p.relative_to(EDGE)) for p in EDGE.rglob("*")
    if p.is_file() and p.suffix.lower() not in (".mtl", ".bin", ".png")
)


def test_every_edge_case_is_listed():
    assert sorted(MESHES) == DATA_FILES


@pytest.mark.parametrize("name", sorted(MESHES))
def test_load_mesh(name):
    path = EDGE / name
    expected = MESHES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(expected[0], int):
            mesh = IO().load_mesh(path)
            assert (mesh.verts_packed().shape[0], mesh.faces_packed().shape[0]) == expected
            faces = mesh.faces_packed()
            assert int(faces.min()) >= 0 and int(faces.max()) < expected[0]
            return
        pattern, line = expected
        with pytest.raises(FileFormatError, match=pattern) as info:
            IO().load_mesh(path)
    assert info.value.path == str(path) and str(path) in str(info.value)
    assert info.value.line == line


@pytest.mark.parametrize("name", sorted(POINTS))
def test_load_pointcloud(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cloud = IO().load_pointcloud(EDGE / name)
    assert cloud.points_packed().shape == (POINTS[name], 3)


def _warnings_of(path: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        IO().load_mesh(path)
    return [str(w.message) for w in caught]


def test_warnings_name_the_problem():
    messages = _warnings_of(EDGE / "notenoughindices.obj")
    assert any("notenoughindices.obj:9: face with 2 corner" in m for m in messages)
    assert any("material library 'surface.mtl' not found" in m for m in messages)
    messages = _warnings_of(EDGE / "missing_texture" / "model.obj")
    assert any("'material_1.png'" in m and "diffuse colour" in m for m in messages)
    messages = _warnings_of(EDGE / "face_in_group_name_mid_file.obj")
    assert any("face_in_group_name_mid_file.obj:5:" in m and "normal" in m for m in messages)


def test_nancolor_geometry_loads_without_textures():
    mesh = IO().load_mesh(EDGE / "nancolor.obj", include_textures=False)
    assert mesh.verts_packed().shape == (8, 3) and mesh.faces_packed().shape == (12, 3)


def test_nancolor_drops_the_colours_with_a_warning_or_raises_when_strict():
    path = EDGE / "nancolor.obj"
    with pytest.warns(UserWarning, match=r"nancolor.obj:7: colour of vertex 6 is not finite "
                                         r"\(\[nan, nan, nan\]\); colours dropped"):
        mesh = IO().load_mesh(path)
    assert mesh.textures is None and mesh.faces_packed().shape == (12, 3)
    with pytest.warns(UserWarning, match="colours dropped"):
        cloud = IO().load_pointcloud(path)
    assert cloud.features_packed() is None
    for load in (IO().load_mesh, IO().load_pointcloud):
        with pytest.raises(FileFormatError, match=r"colour of vertex 6 is not finite") as info:
            load(path, strict_colors=True)
        assert info.value.line == 7


def test_mtl_colour_only_material():
    mesh = IO().load_mesh(EDGE / "mtl_no_image" / "model.obj")
    tex_map = mesh.textures.maps_list()[0]
    assert tex_map.shape[-1] == 3
    assert tex_map.reshape(-1, 3).unique(dim=0).tolist() == [[0.5, 0.0, 0.0]]
