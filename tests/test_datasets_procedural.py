"""Procedural shapes: the families, their primitives, make_dataset's files, splits and cache,
ProceduralShapes and ``r3d dataset make``."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.datasets import collate_batched_meshes
from r3d.datasets.procedural import (
    FAMILIES,
    SHAPE_RADIUS,
    ProceduralShapes,
    box,
    cylinder,
    make_dataset,
    make_shape,
    make_splits,
    superquadric,
)
from r3d.errors import InputError
from r3d.views import load_views

runner = CliRunner()
TINY = {"families": ("chair", "mug"), "shapes_per_family": 3, "views": 2, "image_size": 32}


def closed_and_outward(verts: torch.Tensor, faces: torch.Tensor) -> None:
    """Asserts a closed, consistently wound surface (vertices welded by position): every
    directed edge once and its reverse once; and a positive enclosed volume (outward faces)."""
    _, ids = torch.unique((verts.double() * 1e6).round(), dim=0, return_inverse=True)
    f = ids[faces]
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).tolist()
    directed = set(map(tuple, edges))
    assert len(directed) == len(edges), "a directed edge is used twice (inconsistent winding)"
    assert all((b, a) in directed for a, b in directed), "an edge has one face (a hole)"
    assert signed_volume(verts, faces) > 0


def signed_volume(verts: torch.Tensor, faces: torch.Tensor) -> float:
    v = verts.double()[faces]
    return float(torch.linalg.det(v).sum() / 6)


@pytest.mark.parametrize(
    "verts_faces",
    [box((1.0, 2.0, 0.5), (0.1, 0.2, 0.3)), cylinder(0.5, 0.5, 1.0, 12),
     cylinder(0.6, 0.3, 0.4, 7, (1.0, 0.0, 0.0)),
     superquadric((1.0, 0.5, 0.7), 1.0, 1.0), superquadric((0.3, 1.2, 0.3), 0.2, 0.3, 8, 12),
     superquadric((1.0, 1.0, 1.0), 2.5, 1.8, 5, 6)],
    ids=["box", "cylinder", "cone", "ellipsoid", "boxy", "pointy"],
)
def test_primitives_are_closed_and_outward(verts_faces):
    closed_and_outward(*verts_faces)


def test_superquadric_volume():
    verts, faces = superquadric((1.0, 1.0, 1.0), 1.0, 1.0, 48, 96)
    assert verts.shape == (2 + 47 * 96, 3) and faces.shape == (2 * 47 * 96, 3)
    assert signed_volume(verts, faces) == pytest.approx(4 / 3 * np.pi, rel=5e-3)
    box_v, box_f = superquadric((1.0, 1.0, 1.0), 0.1, 0.1, 64, 64)  # nearly the cube
    assert 7.0 < signed_volume(box_v, box_f) < 8.0


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_builds_a_coloured_closed_mesh(family):
    for seed in range(3):
        mesh = make_shape(family, torch.Generator().manual_seed(seed))
        assert len(mesh) == 1
        verts, faces = mesh.verts_packed(), mesh.faces_packed()
        assert verts.dtype == torch.float32 and faces.shape[0] > 0
        radius = verts.norm(dim=1)
        assert float(radius.max()) == pytest.approx(SHAPE_RADIUS, abs=1e-5)
        centre = (verts.min(0).values + verts.max(0).values) / 2
        assert float(centre.abs().max()) < 1e-5
        # closed parts: the vector areas of a closed surface sum to zero
        vector_area = mesh.faces_normals_packed() * mesh.faces_areas_packed()[:, None]
        assert float(vector_area.sum(0).norm()) < 1e-4 * float(mesh.faces_areas_packed().sum())
        assert signed_volume(verts, faces) > 0
        assert float(mesh.faces_areas_packed().min()) > 0
        colours = mesh.textures.verts_features_packed()
        assert colours.shape == verts.shape and bool(((colours >= 0) & (colours <= 1)).all())
        assert len(torch.unique(colours, dim=0)) >= 2 or family == "mug"


def test_make_shape_is_seeded():
    def verts(seed):
        return make_shape("chair", torch.Generator().manual_seed(seed)).verts_packed()

    assert torch.equal(verts(7), verts(7))
    a, b = verts(7), verts(8)
    assert a.shape != b.shape or not torch.equal(a, b)


def test_make_shape_unknown_family_suggests():
    with pytest.raises(InputError, match="did you mean 'chair'"):
        make_shape("chiar", torch.Generator())


def test_splits_are_stratified_by_shape():
    splits = make_splits(["chair", "lamp"], 20, 0, [0.7, 0.15, 0.15])
    for family in ("chair", "lamp"):
        counts = [sum(k.startswith(family + "/") for k in splits[s]) for s in splits]
        assert counts == [14, 3, 3]
    keys = [k for s in splits.values() for k in s]
    assert len(keys) == len(set(keys)) == 40
    assert splits == make_splits(["chair", "lamp"], 20, 0, [0.7, 0.15, 0.15])
    assert splits != make_splits(["chair", "lamp"], 20, 1, [0.7, 0.15, 0.15])


# ---- make_dataset -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("procedural") / "shapes"
    calls = []
    summary = make_dataset(out, **TINY, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    return out, summary


def shape_keys(out: Path) -> list[str]:
    return sorted(f"{f}/{s.name}" for f in TINY["families"] for s in (out / f).iterdir())


def test_make_dataset_writes_the_documented_files(dataset):
    out, summary = dataset
    assert summary["shapes"] == 6 and summary["generated"] == 6 and not summary["cached"]
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["format"] == "r3d-procedural-shapes" and doc["version"] == 1
    assert doc["params"] == {"families": ["chair", "mug"], "shapes_per_family": 3, "views": 2,
                             "image_size": 32, "seed": 0, "splits": [0.7, 0.15, 0.15]}
    assert isinstance(doc["r3d_version"], str)
    assert shape_keys(out) == [f"{f}/{i:04d}" for f in ("chair", "mug") for i in range(3)]
    for key in shape_keys(out):
        folder = out / key
        assert sorted(p.name for p in (folder / "views").iterdir()) == [
            "cameras.json", "depth_000.npy", "depth_001.npy", "view_000.png", "view_001.png"]
        first = (folder / "mesh.obj").read_text().splitlines()[0].split()
        assert first[0] == "v" and len(first) == 7  # position and colour
        views = load_views(folder / "views")
        assert views.images.shape == (2, 32, 32, 3)
        assert torch.equal(views.masks > 0, views.depths > 0)  # silhouette = depth's support
        assert 0.02 < float(views.masks.mean()) < 0.9
        assert float(views.depths.max()) < 2.7 + 1.0
        lit = views.images[views.masks > 0]
        assert float((lit - 1).abs().max()) > 0.1  # the shape is not background-white
    assert not [p for p in out.rglob(".*")]  # no temporary folder left


def test_splits_partition_the_shapes(dataset):
    out, summary = dataset
    splits = json.loads((out / "splits.json").read_text())
    assert set(splits) == {"train", "val", "test"}
    keys = [k for s in ("train", "val", "test") for k in splits[s]]
    assert sorted(keys) == shape_keys(out)  # each shape in exactly one split
    assert summary["splits"] == {"train": 4, "val": 2, "test": 0}  # 3 -> 2, 1, 0 per family


def test_cache_hit_rewrites_nothing(dataset):
    out, _ = dataset
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    summary = make_dataset(out, **TINY)
    assert summary["cached"] and summary["generated"] == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_other_parameters_are_refused_unless_forced(dataset, tmp_path):
    out, _ = dataset
    with pytest.raises(InputError, match=r"views: 2 -> 1.*--force"):
        make_dataset(out, **{**TINY, "views": 1})
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    summary = make_dataset(copy, families=["mug"], shapes_per_family=1, views=1, image_size=16,
                           force=True)
    assert summary["generated"] == 1
    assert shape_keys_of(copy) == ["mug/0000"]  # the old shapes are gone
    assert not (copy / "chair").exists()
    assert len(load_views(copy / "mug" / "0000" / "views")) == 1
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        make_dataset(tmp_path / "full", **TINY)


def shape_keys_of(out: Path) -> list[str]:
    return sorted(f"{f.name}/{s.name}" for f in out.iterdir() if f.is_dir()
                  for s in f.iterdir() if s.is_dir())


def test_same_seed_same_files_and_resume(dataset, tmp_path):
    out, _ = dataset
    other = tmp_path / "mugs"
    make_dataset(other, **{**TINY, "families": ["mug"]})  # mugs do not depend on the chairs
    for name in ("mesh.obj", "views/cameras.json", "views/view_001.png", "views/depth_001.npy"):
        assert (other / "mug/0002" / name).read_bytes() == (out / "mug/0002" / name).read_bytes()
    # an interrupted run: one shape missing, a temporary folder and no splits.json
    shutil.rmtree(other / "mug/0001")
    (other / "mug/.0001.tmp").mkdir()
    (other / "splits.json").unlink()
    summary = make_dataset(other, **{**TINY, "families": ["mug"]})
    assert summary["generated"] == 1 and not summary["cached"]
    assert (other / "splits.json").is_file() and not (other / "mug/.0001.tmp").exists()
    assert (other / "mug/0001/mesh.obj").read_bytes() == (out / "mug/0001/mesh.obj").read_bytes()


@pytest.mark.parametrize("kwargs, match", [
    ({"families": ["chair", "lampp"]}, "did you mean 'lamp'"),
    ({"families": []}, "at least one"),
    ({"views": 0}, "views must be an int >= 1"),
    ({"image_size": 4}, "image_size"),
    ({"splits": (0.5, 0.2, 0.2)}, "summing to 1"),
])
def test_make_dataset_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        make_dataset(tmp_path / "x", **{**TINY, **kwargs})
    assert not (tmp_path / "x").exists()


# ---- ProceduralShapes -------------------------------------------------------------------------


def test_procedural_shapes_items(dataset):
    out, _ = dataset
    train = ProceduralShapes(out, "train")
    assert len(train) == 4 and train.families == ["chair", "mug"]
    assert len(ProceduralShapes(out, "all")) == 6 and len(ProceduralShapes(out, "test")) == 0
    item = train[0]
    p = item["verts"].shape[0]
    assert item["verts"].shape == (p, 3) and item["colors"].shape == (p, 3)
    assert item["faces"].shape[1] == 3 and item["faces"].dtype == torch.int64
    assert item["images"].shape == (2, 32, 32, 3)
    assert item["masks"].shape == item["depths"].shape == (2, 32, 32)
    assert item["R"].shape == (2, 3, 3) and item["T"].shape == (2, 3) and item["fov"].shape == (2,)
    assert bool(((item["fov"] >= 45) & (item["fov"] <= 60)).all())
    assert item["label"] == train.families.index(item["family"])
    assert f"{item['family']}/{item['shape_id']}" == train.keys[0]
    batch = collate_batched_meshes([train[0], train[1]])
    assert len(batch["mesh"]) == 2 and batch["label"] == [train[i]["label"] for i in (0, 1)]
    one = ProceduralShapes(out, "train", views=1)[0]
    assert one["images"].shape == (1, 32, 32, 3)
    assert torch.equal(one["images"][0], item["images"][0])
    with pytest.raises(InputError, match="split"):
        ProceduralShapes(out, "validation")
    with pytest.raises(InputError, match="views"):
        ProceduralShapes(out, "train", views=3)


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_dataset_make(tmp_path):
    out = tmp_path / "ds"
    args = ["dataset", "make", str(out), "--families", "lamp", "--shapes-per-family", "2",
            "--views", "1", "--size", "16"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 shapes of lamp" in result.output and (out / "lamp/0001/mesh.obj").is_file()
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cached"] and summary["shapes"] == 2 and summary["families"] == ["lamp"]
    result = runner.invoke(app, [*args[:5], "--views", "2", "--size", "16"])
    assert result.exit_code == 2 and "--force" in result.output


@pytest.mark.parametrize("args, match", [
    (["--families", "chair,tabel"], "did you mean 'table'"),
    (["--views", "0"], "--views"),
    (["--shapes-per-family", "-1"], "--shapes-per-family"),
])
def test_cli_dataset_make_bad_input(tmp_path, args, match):
    result = runner.invoke(app, ["dataset", "make", str(tmp_path / "ds"), *args])
    assert result.exit_code == 2
    assert match in result.output
    assert not (tmp_path / "ds").exists()
