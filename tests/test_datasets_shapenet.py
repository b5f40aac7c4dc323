"""r3d.datasets: ShapeNetCore (v1, v2), R2N2 and collate_batched_meshes on fake data trees.

The trees are built in tmp folders from the bundled cow and ico spheres; the R2N2 renderings
are made with r3d's rasteriser from cameras placed by the documented R2N2 convention, written
here independently of the dataset's code.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader

from r3d.datasets import (
    R2N2,
    R2N2_FOV_DEGREES,
    ShapeNetCore,
    collate_batched_meshes,
    read_binvox,
)
from r3d.errors import FileFormatError, InputError
from r3d.io import load_obj, save_obj
from r3d.renderer import (
    FoVPerspectiveCameras,
    MeshRasterizer,
    RasterizationSettings,
    TexturesAtlas,
    look_at_view_transform,
)
from r3d.structures import Meshes
from r3d.utils import ico_sphere

COW = Path(__file__).resolve().parents[1] / "r3d" / "assets" / "cow" / "cow.obj"
CHAIR, AIRPLANE = "03001627", "02691156"
# synset -> model id -> kind of mesh; "empty_e" has a folder but no OBJ file
MODELS = {
    CHAIR: {"cow_a": "cow", "sphere_b": "sphere2"},
    AIRPLANE: {"cow_d": "cow_small", "sphere_c": "sphere1"},
}
MODEL_FILE = {1: "model.obj", 2: os.path.join("models", "model_normalized.obj")}
SIZE = 137
# per view id: azimuth, elevation (degrees), distance ratio
VIEWS = {0: (30.0, 20.0, 0.8), 1: (145.0, 35.0, 0.75), 2: (260.0, 10.0, 0.85)}
SPLITS = {
    "train": {CHAIR: {"cow_a": [0, 1, 2], "sphere_b": [0, 2]}, AIRPLANE: {"sphere_c": [1]}},
    "val": {AIRPLANE: {"cow_d": [0, 1]}},
    "test": {CHAIR: {"sphere_b": [1]}, AIRPLANE: {"missing_model": [0]}},
}


# ---- fake data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def meshes() -> dict:
    """kind -> dict of save_obj arguments (verts in a radius-0.5 ball, like ShapeNet's)."""
    verts, faces, aux = load_obj(COW)
    verts = verts - (verts.max(0).values + verts.min(0).values) / 2
    verts = verts * (0.5 / verts.norm(dim=1).max())
    image = next(iter(aux.texture_images.values()))  # (1024, 1024, 3)
    small = F.adaptive_avg_pool2d(image.permute(2, 0, 1)[None], 32)[0].permute(1, 2, 0)
    cow = dict(verts=verts, faces=faces.verts_idx, verts_uvs=aux.verts_uvs,
               faces_uvs=faces.textures_idx, texture_map=small)
    out = {"cow": cow, "cow_small": {**cow, "verts": verts * 0.8}}
    for level in (1, 2):
        sphere = ico_sphere(level)
        out[f"sphere{level}"] = dict(verts=sphere.verts_list()[0] * 0.45,
                                     faces=sphere.faces_list()[0])
    return out


def _build_shapenet(root: Path, version: int, meshes: dict) -> Path:
    for sid, models in MODELS.items():
        for mid, kind in models.items():
            path = root / sid / mid / MODEL_FILE[version]
            path.parent.mkdir(parents=True)
            save_obj(path, **meshes[kind])
    (root / CHAIR / "empty_e").mkdir()  # a model folder without its OBJ file
    (root / "not_a_synset").mkdir()
    (root / "taxonomy.json").write_text("[]")
    return root


@pytest.fixture(scope="module")
def v1_root(tmp_path_factory, meshes) -> Path:
    return _build_shapenet(tmp_path_factory.mktemp("shapenet_v1"), 1, meshes)


@pytest.fixture(scope="module")
def v2_root(tmp_path_factory, meshes) -> Path:
    return _build_shapenet(tmp_path_factory.mktemp("shapenet_v2"), 2, meshes)


def _eye(azim: float, elev: float, dist: float) -> torch.Tensor:
    """R2N2's camera position in the model's coordinates (Blender's, with OBJ's Y up)."""
    a, e = math.radians(azim), math.radians(elev)
    x, y, z = math.cos(e) * math.cos(a), math.sin(e), math.cos(e) * math.sin(a)
    return dist * torch.tensor([[x, y, z]])


def _silhouette(verts, faces, cameras) -> torch.Tensor:
    """(N, SIZE, SIZE) bool: pixels covered by the mesh, one image per camera."""
    n = len(cameras)
    mesh = Meshes(verts=[verts] * n, faces=[faces] * n)
    rasterizer = MeshRasterizer(cameras, RasterizationSettings(image_size=SIZE))
    return rasterizer(mesh).pix_to_face[..., 0] >= 0


@pytest.fixture(scope="module")
def r2n2_dirs(tmp_path_factory, v1_root, meshes) -> tuple[Path, Path]:
    """(r2n2_dir, splits_file): 3 RGBA renderings and their metadata per model."""
    root = tmp_path_factory.mktemp("r2n2")
    for sid, models in MODELS.items():
        for mid, kind in models.items():
            folder = root / "ShapeNetRendering" / sid / mid / "rendering"
            folder.mkdir(parents=True)
            lines = []
            for view, (azim, elev, ratio) in VIEWS.items():
                R, T = look_at_view_transform(eye=_eye(azim, elev, 1.75 * ratio))
                cams = FoVPerspectiveCameras(R=R, T=T, fov=R2N2_FOV_DEGREES, znear=0.1,
                                             zfar=100.0)
                mask = _silhouette(meshes[kind]["verts"], meshes[kind]["faces"], cams)[0]
                rgba = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
                rgba[..., :3] = np.array([200, 120, 40], dtype=np.uint8) * mask.numpy()[..., None]
                rgba[..., 3] = 255 * mask.numpy()
                Image.fromarray(rgba, "RGBA").save(folder / f"{view:02d}.png")
                lines.append(f"{azim} {elev} 0 {ratio} 25")
            (folder / "rendering_metadata.txt").write_text("\n".join(lines) + "\n")
    vox = root / "ShapeNetVox32" / AIRPLANE / "cow_d"
    vox.mkdir(parents=True)
    # 2^3 grid with only voxel x=1, y=0, z=1 set: linear index x*4 + z*2 + y = 6
    (vox / "model.binvox").write_bytes(
        b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 6, 1, 1, 0, 1])
    )
    splits = root / "splits.json"
    splits.write_text(json.dumps(SPLITS))
    return root, splits


def _r2n2(split, v1_root, r2n2_dirs, **kwargs) -> R2N2:
    root, splits = r2n2_dirs
    return R2N2(split, v1_root, root, splits, **kwargs)


# ---- ShapeNetCore ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_shapenet_lengths_and_skipped(version, v1_root, v2_root):
    root = v1_root if version == 1 else v2_root
    with pytest.warns(UserWarning, match="skipped 1 model"):
        ds = ShapeNetCore(root, version=version)
    assert len(ds) == 4
    assert ds.synset_ids == [AIRPLANE, AIRPLANE, CHAIR, CHAIR]
    assert ds.model_ids == ["cow_d", "sphere_c", "cow_a", "sphere_b"]
    assert ds.skipped == [(CHAIR, "empty_e")]
    assert ds.synset_num_models == {AIRPLANE: 2, CHAIR: 2}


@pytest.mark.filterwarnings("ignore:ShapeNetCore. skipped")
def test_shapenet_synsets_by_name_and_id(v1_root):
    chairs = ShapeNetCore(v1_root, synsets=["chair"])
    assert chairs.model_ids == ["cow_a", "sphere_b"]
    assert {chairs[i]["label"] for i in range(len(chairs))} == {"chair"}
    planes = ShapeNetCore(v1_root, synsets=[AIRPLANE], load_textures=False)
    assert planes.model_ids == ["cow_d", "sphere_c"]
    assert planes[1]["label"] == "airplane"
    both = ShapeNetCore(v1_root, synsets=["Chair", CHAIR, "plane"])
    assert len(both) == 4
    with pytest.warns(UserWarning, match="no folder .* for synset"):
        ShapeNetCore(v1_root, synsets=["chair", "sofa"])


@pytest.mark.filterwarnings("ignore:ShapeNetCore. skipped")
@pytest.mark.parametrize("version", [1, 2])
def test_shapenet_item_contents(version, v1_root, v2_root, meshes):
    root = v1_root if version == 1 else v2_root
    ds = ShapeNetCore(root, synsets="chair", version=version)
    cow, sphere = ds[0], ds[-1]
    assert set(cow) == {"synset_id", "model_id", "label", "verts", "faces", "textures"}
    assert (cow["synset_id"], cow["model_id"], cow["label"]) == (CHAIR, "cow_a", "chair")
    torch.testing.assert_close(cow["verts"], meshes["cow"]["verts"], atol=1e-6, rtol=0)
    assert torch.equal(cow["faces"], meshes["cow"]["faces"])
    assert cow["faces"].dtype == torch.int64
    F_ = cow["faces"].shape[0]
    assert cow["textures"].shape == (F_, 4, 4, 3)
    assert cow["textures"].std() > 0.01  # sampled from the cow's texture, not white
    assert sphere["verts"].shape == meshes["sphere2"]["verts"].shape
    assert torch.equal(sphere["textures"], torch.ones(sphere["faces"].shape[0], 4, 4, 3))
    plain = ShapeNetCore(root, synsets="chair", version=version, load_textures=False,
                         texture_resolution=2)
    assert plain[0]["textures"] is None
    coarse = ShapeNetCore(root, synsets="chair", version=version, texture_resolution=2)
    assert coarse[0]["textures"].shape == (F_, 2, 2, 3)
    with pytest.raises(IndexError):
        ds[2]


def test_shapenet_errors(tmp_path, v1_root):
    with pytest.raises(InputError, match="unknown synset.*'chiar'.*chair.*sofa"):
        ShapeNetCore(v1_root, synsets=["chiar"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=f"no model in data_dir {empty}.*model.obj"):
        ShapeNetCore(empty)
    with pytest.raises(InputError, match="models/model_normalized.obj.*5 model folder"):
        ShapeNetCore(v1_root, version=2)  # a v1 tree read as v2
    with pytest.raises(InputError, match="synsets.*04256520"):
        ShapeNetCore(v1_root, synsets=["sofa"])
    with pytest.raises(InputError, match="version"):
        ShapeNetCore(v1_root, version=3)
    with pytest.raises(InputError, match="not a folder"):
        ShapeNetCore(tmp_path / "nowhere")


# ---- R2N2 -------------------------------------------------------------------------------------


def test_r2n2_splits_and_items(v1_root, r2n2_dirs):
    train = _r2n2("train", v1_root, r2n2_dirs)
    assert list(zip(train.synset_ids, train.model_ids)) == [
        (AIRPLANE, "sphere_c"), (CHAIR, "cow_a"), (CHAIR, "sphere_b")]
    assert train.views_per_model == [[1], [0, 1, 2], [0, 2]]
    item = train[1]
    assert item["label"] == "chair" and item["views"] == [0, 1, 2]
    assert item["images"].shape == (3, SIZE, SIZE, 3) and item["images"].dtype == torch.float32
    assert 0 <= item["images"].min() and item["images"].max() <= 1
    assert item["masks"].shape == (3, SIZE, SIZE)
    assert item["R"].shape == (3, 3, 3) and item["T"].shape == (3, 3)
    assert item["K"].shape == (3, 4, 4)
    assert item["textures"].shape == (item["faces"].shape[0], 4, 4, 3)
    assert len(_r2n2("val", v1_root, r2n2_dirs)) == 1
    with pytest.warns(UserWarning, match="skipped 1 model"):
        test = _r2n2("test", v1_root, r2n2_dirs)
    assert test.model_ids == ["sphere_b"] and test.skipped == [(AIRPLANE, "missing_model")]


def test_r2n2_view_subsets(v1_root, r2n2_dirs):
    train = _r2n2("train", v1_root, r2n2_dirs, load_textures=False)
    full = train[1]
    sub = train[1, [2, 0]]
    assert sub["views"] == [2, 0]
    torch.testing.assert_close(sub["images"], full["images"][[2, 0]])
    torch.testing.assert_close(sub["R"], full["R"][[2, 0]])
    assert train[2, 2]["images"].shape == (1, SIZE, SIZE, 3)
    with pytest.raises(InputError, match="view ids"):
        train[2, [1]]  # view 1 of sphere_b is in the test split
    torch.manual_seed(0)
    one = _r2n2("train", v1_root, r2n2_dirs, return_all_views=False, load_textures=False)
    for views, allowed in zip(one.views_per_model, train.views_per_model):
        assert len(views) == 1 and views[0] in allowed
        assert one[one.views_per_model.index(views)]["images"].shape[0] == 1


def test_r2n2_cameras_match_renderings(v1_root, r2n2_dirs):
    """Silhouettes rendered with the items' R, T, K overlap the images' alpha (IoU > 0.9); with
    the azimuth taken as r3d's (about +Y from +Z) they do not, for the asymmetric cow."""
    for split in ("train", "val"):
        ds = _r2n2(split, v1_root, r2n2_dirs, load_textures=False)
        for i in range(len(ds)):
            item = ds[i]
            cams = FoVPerspectiveCameras(R=item["R"], T=item["T"], K=item["K"])
            sil = _silhouette(item["verts"], item["faces"], cams)
            alpha = item["masks"] > 0.5
            inter = (sil & alpha).flatten(1).sum(1).float()
            union = (sil | alpha).flatten(1).sum(1).float()
            assert bool((inter / union > 0.9).all()), (split, item["model_id"], inter / union)
            assert bool((union > 200).all())
            if item["model_id"] == "cow_a":
                azim, elev, ratio = (torch.tensor(v) for v in zip(*VIEWS.values()))
                R, T = look_at_view_transform(1.75 * ratio, elev, azim)  # the wrong convention
                wrong = _silhouette(item["verts"], item["faces"],
                                    FoVPerspectiveCameras(R=R, T=T, K=item["K"]))
                iou = (wrong & alpha).flatten(1).sum(1) / (wrong | alpha).flatten(1).sum(1)
                assert float(iou.min()) < 0.9


def test_r2n2_voxels_and_errors(tmp_path, v1_root, r2n2_dirs):
    root, splits = r2n2_dirs
    val = R2N2("val", v1_root, root, splits, return_voxels=True, load_textures=False)
    vox = val[0]["voxels"]
    assert vox.shape == (2, 2, 2) and vox.dtype == torch.uint8
    assert int(vox.sum()) == 1 and int(vox[1, 0, 1]) == 1
    assert torch.equal(read_binvox(root / "ShapeNetVox32" / AIRPLANE / "cow_d" / "model.binvox"),
                       vox)
    bad = tmp_path / "bad.binvox"
    bad.write_bytes(b"#binvox 1\ndim 2 2 2\ndata\n" + bytes([0, 5]))
    with pytest.raises(FileFormatError, match="runs cover 5 voxels"):
        read_binvox(bad)
    with pytest.raises(InputError, match="split must be one of"):
        R2N2("training", v1_root, root, splits)
    with pytest.raises(InputError, match="no renderings folder"):
        R2N2("train", v1_root, tmp_path, splits)
    with pytest.raises(InputError, match="no model of split 'train'"):
        R2N2("train", tmp_path, root, splits)
    other = tmp_path / "splits.json"
    other.write_text(json.dumps({"train": {CHAIR: {"cow_a": "all"}}}))
    with pytest.raises(InputError, match="cow_a must be a non-empty list"):
        R2N2("train", v1_root, root, other)


# ---- collate ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:ShapeNetCore. skipped")
def test_collate_batched_meshes(v1_root, r2n2_dirs):
    ds = ShapeNetCore(v1_root)
    loader = DataLoader(ds, batch_size=2, collate_fn=collate_batched_meshes)
    batches = list(loader)
    assert len(batches) == 2
    for b, batch in enumerate(batches):
        mesh = batch["mesh"]
        assert isinstance(mesh, Meshes) and len(mesh) == 2
        assert isinstance(mesh.textures, TexturesAtlas)
        assert batch["model_id"] == ds.model_ids[2 * b: 2 * b + 2]
        for j in range(2):
            assert torch.equal(mesh.verts_list()[j], batch["verts"][j])
            assert torch.equal(mesh.faces_list()[j], batch["faces"][j])
            assert torch.equal(mesh.textures.atlas_list()[j], batch["textures"][j])
    plain = ShapeNetCore(v1_root, load_textures=False)
    batch = next(iter(DataLoader(plain, batch_size=2, collate_fn=collate_batched_meshes)))
    assert batch["mesh"].textures is None and batch["textures"] == [None, None]
    r2n2 = _r2n2("train", v1_root, r2n2_dirs, load_textures=False)
    batch = next(iter(DataLoader(r2n2, batch_size=2, collate_fn=collate_batched_meshes)))
    assert [x.shape[0] for x in batch["images"]] == [1, 3] and len(batch["mesh"]) == 2
    assert collate_batched_meshes([]) is None
    with pytest.raises(InputError, match=r"batch\[1\]"):
        collate_batched_meshes([{"verts": 1}, {"faces": 2}])
