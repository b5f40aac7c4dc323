"""The multi-view input of ``r3d fit``: cameras.json and transforms.json folders, camera
conventions checked by rendering, resampling, the render command's cameras.json, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from r3d.errors import FileFormatError, InputError
from r3d.io import save_obj
from r3d.renderer import (
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    MeshRasterizer,
    PerspectiveCameras,
    RasterizationSettings,
    cameras_from_opencv_projection,
    look_at_view_transform,
)
from r3d.scene.run import render_scene
from r3d.scene.scene import CameraSpec, LookAt, MeshSpec, Outputs, Scene, load_scene
from r3d.structures import Meshes
from r3d.utils import ico_sphere
from r3d.views import ViewSet, load_views, save_views

DIST, FOV = 3.0, 50.0
ELEV = [10.0, 35.0, -20.0, 60.0]
AZIM = [0.0, 70.0, 160.0, 250.0]
SIZE = (48, 64)  # (H, W): the shorter side is the height


# ---- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mesh() -> Meshes:
    """A unit sphere with a smaller sphere stuck on at (+X, +Y, +Z): no view is symmetric."""
    big, small = ico_sphere(2), ico_sphere(1)
    verts = [big.verts_packed(), small.verts_packed() * 0.45 + torch.tensor([0.8, 0.5, 0.3])]
    faces = [big.faces_packed(), small.faces_packed() + len(verts[0])]
    return Meshes(verts=[torch.cat(verts)], faces=[torch.cat(faces)])


def render(mesh: Meshes, cameras, size) -> tuple[torch.Tensor, torch.Tensor]:
    """Silhouettes (V, H, W) in {0, 1} and view-space depths (V, H, W), 0 where empty."""
    rasterizer = MeshRasterizer(raster_settings=RasterizationSettings(image_size=size))
    fragments = rasterizer(mesh.extend(len(cameras)), cameras=cameras)
    hit = fragments.pix_to_face[..., 0] >= 0
    return hit.float(), torch.where(hit, fragments.zbuf[..., 0], 0.0)


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum())


def reference_cameras() -> FoVPerspectiveCameras:
    R, T = look_at_view_transform(dist=DIST, elev=ELEV, azim=AZIM)
    return FoVPerspectiveCameras(fov=FOV, znear=0.1, zfar=10.0, R=R, T=T)


def opengl_camera_to_world(elev_deg: float, azim_deg: float) -> list[list[float]]:
    """The OpenGL camera-to-world matrix (x right, y up, looking along -z) of a camera at
    elevation/azimuth on a sphere of radius DIST looking at the origin with +Y up, built with
    numpy alone."""
    e, a = math.radians(elev_deg), math.radians(azim_deg)
    eye = DIST * np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
    up = np.array([0.0, 1.0, 0.0])
    z = eye / np.linalg.norm(eye)  # the camera looks along -z, at the origin
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w.tolist()


def write_rgba(path: Path, mask: torch.Tensor, colour=(0.8, 0.4, 0.2)) -> None:
    """An RGBA PNG: a flat colour, alpha = mask (the colour is stored unpremultiplied)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = np.round(np.array(colour) * 255)
    rgba[..., 3] = (mask.numpy() * 255).round()
    Image.fromarray(rgba).save(path)


def write_grey(path: Path, values: np.ndarray, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values).convert(mode).save(path)


def rendered_folder(tmp_path: Path, mesh: Meshes, size=SIZE, **top) -> tuple[Path, torch.Tensor]:
    """A transforms.json folder of the reference views (RGBA PNGs) with OpenGL matrices and
    ``top`` as its top-level intrinsics (default: fl_x, fl_y from the fov, cx, cy, w, h)."""
    masks, _ = render(mesh, reference_cameras(), size)
    folder = tmp_path / "views"
    h, w = size
    fl = 0.5 * min(h, w) / math.tan(math.radians(FOV) / 2)
    doc = top or {"fl_x": fl, "fl_y": fl, "cx": w / 2, "cy": h / 2, "w": w, "h": h}
    doc["frames"] = []
    for i, (e, a) in enumerate(zip(ELEV, AZIM)):
        write_rgba(folder / f"r_{i}.png", masks[i])
        doc["frames"].append({"file_path": f"r_{i}.png",
                              "transform_matrix": opengl_camera_to_world(e, a)})
    (folder / "transforms.json").write_text(json.dumps(doc, indent=2))
    return folder, masks


def assert_same_projection(cameras, reference, size) -> None:
    points = torch.randn(50, 3) * 0.8
    got = cameras.transform_points_screen(points, image_size=size)[..., :2]
    want = reference.transform_points_screen(points, image_size=size)[..., :2]
    assert torch.allclose(got, want, atol=2e-3), (got - want).abs().max()


# ---- round trips -------------------------------------------------------------------------------


def test_save_load_round_trip_fov(tmp_path):
    g = torch.Generator().manual_seed(0)
    v, h, w = 3, 20, 30
    images, masks = torch.rand(v, h, w, 3, generator=g), torch.rand(v, h, w, generator=g)
    depths = torch.rand(v, h, w, generator=g) * 3 * (masks > 0.5)
    R, T = look_at_view_transform(dist=[2.0, 3.0, 4.0], elev=[0, 20, 40], azim=[10, 100, 200])
    cameras = FoVPerspectiveCameras(fov=[40.0, 55.5, 70.25], znear=[0.1, 0.5, 1.0],
                                    zfar=[10.0, 20.0, 30.0], aspect_ratio=[1.0, 1.25, 0.8],
                                    R=R, T=T)
    written = save_views(tmp_path / "out", images, masks, cameras, depths=depths)
    assert [p.name for p in written] == ["view_000.png", "view_001.png", "view_002.png",
                                         "depth_000.npy", "depth_001.npy", "depth_002.npy",
                                         "cameras.json"]
    doc = json.loads((tmp_path / "out" / "cameras.json").read_text())
    assert doc["format"] == "r3d-cameras" and doc["version"] == 1
    assert doc["camera"] == "fov_perspective" and doc["image_size"] == [h, w]
    assert doc["views"][1]["file"] == "view_001.png"
    assert doc["views"][1]["depth"] == "depth_001.npy"
    assert np.load(tmp_path / "out" / "depth_002.npy").dtype == np.float32

    views = load_views(tmp_path / "out")
    assert len(views) == 3 and views.image_size == (h, w)
    assert views.names == ["view_000.png", "view_001.png", "view_002.png"]
    assert views.images.dtype == torch.float32 and views.images.shape == (v, h, w, 3)
    assert (views.images - images).abs().max() <= 0.5 / 255 + 1e-6
    assert (views.masks - masks).abs().max() <= 0.5 / 255 + 1e-6
    assert torch.equal(views.depths, depths)
    loaded = views.cameras
    assert isinstance(loaded, FoVPerspectiveCameras) and loaded.degrees
    for name in ("R", "T", "fov", "znear", "zfar", "aspect_ratio"):
        assert torch.equal(getattr(loaded, name), getattr(cameras, name)), name


def test_save_load_round_trip_perspective_and_names(tmp_path):
    h, w = 30, 40
    R, T = look_at_view_transform(dist=3.0, elev=[5, 25], azim=[30, -60])
    K = torch.tensor([[[50.0, 0, 21.5], [0, 55.0, 14.0], [0, 0, 1]],
                      [[40.0, 0, 19.0], [0, 40.0, 16.5], [0, 0, 1]]])
    cameras = PerspectiveCameras(R=R, T=T, focal_length=K[:, [0, 1], [0, 1]],
                                 principal_point=K[:, :2, 2], in_ndc=False, image_size=[[h, w]])
    images, masks = torch.rand(2, h, w, 3), (torch.rand(2, h, w) > 0.5).float()
    save_views(tmp_path, images, masks, cameras, names=["a.png", "b.png"])
    doc = json.loads((tmp_path / "cameras.json").read_text())
    assert doc["camera"] == "perspective"
    assert doc["views"][0]["focal_length"] == [50.0, 55.0]
    assert doc["views"][0]["principal_point"] == [21.5, 14.0]
    views = load_views(tmp_path)
    assert views.names == ["a.png", "b.png"] and views.depths is None
    assert isinstance(views.cameras, PerspectiveCameras)
    assert torch.equal(views.masks, masks)
    assert_same_projection(views.cameras, cameras, (h, w))


def test_fov_in_radians_is_saved_in_degrees(tmp_path):
    cameras = FoVPerspectiveCameras(fov=math.radians(45.0), degrees=False, T=[[0.0, 0.0, 3.0]])
    save_views(tmp_path, torch.rand(1, 8, 8, 3), torch.ones(1, 8, 8), cameras)
    assert json.loads((tmp_path / "cameras.json").read_text())["views"][0]["fov"] == \
        pytest.approx(45.0)
    assert_same_projection(load_views(tmp_path).cameras, cameras, (8, 8))


# ---- camera conventions, checked by rendering --------------------------------------------------


def test_transforms_json_opengl_cameras_render_the_same_silhouettes(tmp_path, mesh):
    folder, masks = rendered_folder(tmp_path, mesh)
    views = load_views(folder)
    assert views.names == [f"r_{i}.png" for i in range(4)] and views.image_size == SIZE
    assert isinstance(views.cameras, PerspectiveCameras)
    assert torch.equal(views.masks, masks)
    assert torch.allclose(views.images[0, 0, 0], torch.tensor([204, 102, 51]) / 255.0)
    again, _ = render(mesh, views.cameras, SIZE)
    for i in range(4):
        assert iou(again[i], masks[i]) > 0.99, i
    assert_same_projection(views.cameras, reference_cameras(), SIZE)


def test_camera_angle_x_and_extensionless_paths(tmp_path, mesh):
    """NeRF-synthetic: camera_angle_x only, file_path "./train/r_0" without an extension."""
    h, w = SIZE
    fl = 0.5 * h / math.tan(math.radians(FOV) / 2)
    folder, masks = rendered_folder(tmp_path, mesh,
                                    camera_angle_x=2 * math.atan(0.5 * w / fl))
    doc = json.loads((folder / "transforms.json").read_text())
    for i, frame in enumerate(doc["frames"]):
        (folder / "train").mkdir(exist_ok=True)
        (folder / f"r_{i}.png").rename(folder / "train" / f"r_{i}.png")
        frame["file_path"] = f"./train/r_{i}"
    (folder / "transforms.json").write_text(json.dumps(doc))
    views = load_views(folder)
    assert views.names == [f"train/r_{i}.png" for i in range(4)]
    again, _ = render(mesh, views.cameras, SIZE)
    assert min(iou(again[i], masks[i]) for i in range(4)) > 0.99
    assert_same_projection(views.cameras, reference_cameras(), SIZE)


def test_per_frame_intrinsics_and_camera_angle_y(tmp_path, mesh):
    h, w = SIZE
    folder, masks = rendered_folder(tmp_path, mesh, camera_angle_y=math.radians(FOV))
    doc = json.loads((folder / "transforms.json").read_text())
    fl = 0.5 * h / math.tan(math.radians(FOV) / 2)
    doc["frames"][2].update(fl_y=fl, cx=w / 2)  # the frame's own keys win
    (folder / "transforms.json").write_text(json.dumps(doc))
    views = load_views(folder)
    again, _ = render(mesh, views.cameras, SIZE)
    assert min(iou(again[i], masks[i]) for i in range(4)) > 0.99


def test_rgb_images_with_masks_folder(tmp_path, mesh):
    folder, masks = rendered_folder(tmp_path, mesh)
    for i in range(4):
        rgb = np.asarray(Image.open(folder / f"r_{i}.png").convert("RGB"))
        Image.fromarray(rgb).save(folder / f"r_{i}.png")
        write_grey(folder / "masks" / f"r_{i}.bmp", (masks[i].numpy() * 255).astype(np.uint8))
    views = load_views(folder)
    assert torch.equal(views.masks, masks)
    assert torch.allclose(views.images[:, 0, 0], torch.tensor([204, 102, 51]) / 255.0)


def test_mask_path_and_rgba_mask_files(tmp_path, mesh):
    folder, masks = rendered_folder(tmp_path, mesh)
    doc = json.loads((folder / "transforms.json").read_text())
    for i, frame in enumerate(doc["frames"]):
        Image.open(folder / f"r_{i}.png").convert("RGB").save(folder / f"r_{i}.png")
        frame["mask_path"] = f"sil/m{i}.png"
        if i % 2:  # a mask given by its alpha channel
            write_rgba(folder / "sil" / f"m{i}.png", masks[i], colour=(0, 0, 0))
        else:
            write_grey(folder / "sil" / f"m{i}.png", (masks[i].numpy() * 255).astype(np.uint8))
    (folder / "transforms.json").write_text(json.dumps(doc))
    assert torch.equal(load_views(folder).masks, masks)


def test_cameras_json_wins_over_transforms_json(tmp_path):
    cameras = FoVPerspectiveCameras(T=[[0.0, 0.0, 3.0]])
    save_views(tmp_path, torch.rand(1, 8, 8, 3), torch.ones(1, 8, 8), cameras)
    (tmp_path / "transforms.json").write_text("not json at all")
    assert isinstance(load_views(tmp_path).cameras, FoVPerspectiveCameras)


# ---- the render command's cameras.json ---------------------------------------------------------


def test_rendered_folder_with_silhouettes_loads(tmp_path, mesh):
    save_obj(tmp_path / "mesh.obj", mesh.verts_packed(), mesh.faces_packed())
    out = tmp_path / "render"
    scene = Scene(
        meshes=(MeshSpec(file=tmp_path / "mesh.obj"),),
        cameras=CameraSpec(fov=FOV, look_at=tuple(LookAt(dist=DIST, elev=e, azim=a)
                                                  for e, a in zip(ELEV, AZIM))),
        outputs=Outputs(dir=out, silhouette=True),
        image_size=(40, 56),
    )
    summary = render_scene(scene)
    assert str(out / "cameras.json") in summary["files"]
    doc = json.loads((out / "cameras.json").read_text())
    assert doc["views"][3]["file"] == "view_003.png"
    assert doc["views"][3]["mask"] == "silhouette_003.png"
    views = load_views(out)
    assert views.names == [f"view_{i:03d}.png" for i in range(4)]
    assert isinstance(views.cameras, FoVPerspectiveCameras)
    rgb = np.asarray(Image.open(out / "view_001.png"))
    assert torch.equal(views.images[1], torch.from_numpy(rgb / np.float32(255)))
    again, _ = render(mesh, views.cameras, (40, 56))
    assert min(iou(again[i], views.masks[i]) for i in range(4)) > 0.99
    assert_same_projection(views.cameras, reference_cameras(), (40, 56))


def test_render_without_silhouettes_has_no_masks_and_cameras_can_be_turned_off(tmp_path, mesh):
    save_obj(tmp_path / "mesh.obj", mesh.verts_packed(), mesh.faces_packed())
    spec = CameraSpec(look_at=(LookAt(dist=DIST),))
    scene = Scene(meshes=(MeshSpec(file=tmp_path / "mesh.obj"),), cameras=spec,
                  outputs=Outputs(dir=tmp_path / "a"), image_size=(8, 8))
    render_scene(scene)
    assert "mask" not in json.loads((tmp_path / "a" / "cameras.json").read_text())["views"][0]
    with pytest.raises(InputError, match="view_000.png: no silhouette"):
        load_views(tmp_path / "a")
    scene = Scene(meshes=scene.meshes, cameras=spec, image_size=(8, 8),
                  outputs=Outputs(dir=tmp_path / "b", cameras=False))
    render_scene(scene)
    assert not (tmp_path / "b" / "cameras.json").exists()


def test_scene_outputs_cameras_key(tmp_path):
    (tmp_path / "t.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    text = "meshes: [t.obj]\ncameras: {turntable: {views: 2}}\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text + "outputs: {cameras: false}\n")
    assert load_scene(tmp_path / "a.yaml").outputs.cameras
    assert not load_scene(tmp_path / "b.yaml").outputs.cameras


# ---- resampling --------------------------------------------------------------------------------


def test_image_size_downsamples_transforms_views(tmp_path, mesh):
    folder, _ = rendered_folder(tmp_path, mesh, size=(96, 128))
    views = load_views(folder, image_size=48)
    assert views.image_size == (48, 64) and views.masks.shape == (4, 48, 64)
    again, _ = render(mesh, views.cameras, (48, 64))
    assert min(iou(again[i], views.masks[i]) for i in range(4)) > 0.95
    assert_same_projection(views.cameras, reference_cameras(), (48, 64))


@pytest.mark.parametrize("size, image_size, expected", [
    ((51, 77), 20, (20, 30)),  # W' rounded: the aspect changes a little
    ((77, 51), 30, (30, 20)),  # the width is the shorter side
    ((24, 32), 40, (40, 53)),  # enlarged
])
def test_image_size_resamples_fov_views(tmp_path, mesh, size, image_size, expected):
    cameras = reference_cameras()
    masks, depths = render(mesh, cameras, size)
    save_views(tmp_path, torch.rand(4, *size, 3), masks, cameras, depths=depths)
    views = load_views(tmp_path, image_size=image_size)
    assert views.image_size == expected and views.depths.shape == (4, *expected)
    again, depth = render(mesh, views.cameras, expected)
    assert min(iou(again[i], views.masks[i]) for i in range(4)) > 0.95
    both = (depth > 0) & (views.depths > 0)
    assert (depth[both] - views.depths[both]).abs().median() < 0.05


# ---- the ViewSet -------------------------------------------------------------------------------


def test_viewset_subset_to_and_checks(tmp_path, mesh):
    folder, masks = rendered_folder(tmp_path, mesh)
    views = load_views(folder)
    part = views.subset([2, 0])
    assert len(part) == 2 and part.names == ["r_2.png", "r_0.png"]
    assert torch.equal(part.masks, masks[[2, 0]])
    assert torch.equal(part.cameras.R, views.cameras.R[[2, 0]])
    assert views.subset(torch.tensor([False, True, False, True])).names == ["r_1.png", "r_3.png"]
    assert views.subset(torch.tensor([-1])).names == ["r_3.png"]
    moved = views.to("cpu")
    assert moved is not views and moved.cameras is not views.cameras
    assert torch.equal(moved.images, views.images)
    with pytest.raises(InputError, match="index 4 is out of range for 4 views"):
        views.subset([4])
    with pytest.raises(InputError, match="selects no view"):
        views.subset([])
    with pytest.raises(InputError, match="cameras must be a batch of 4 cameras"):
        ViewSet(views.images, views.masks, views.cameras[0], views.names)
    with pytest.raises(InputError, match=r"masks must be a float tensor of shape \(4, 48, 64\)"):
        ViewSet(views.images, views.masks[:, :10], views.cameras, views.names)
    with pytest.raises(InputError, match="names must be a list of 4 strings"):
        ViewSet(views.images, views.masks, views.cameras, views.names[:3])


# ---- bad input ---------------------------------------------------------------------------------


def transforms(folder: Path, frames, **top) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transforms.json").write_text(json.dumps({**top, "frames": frames}))
    return folder


def frame(name="a.png", matrix=None, **keys) -> dict:
    return {"file_path": name, "transform_matrix": matrix or np.eye(4).tolist(), **keys}


def image(path: Path, size=(8, 8), mode="RGBA") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size[1], size[0]), (255, 0, 0, 255)[: len(mode)]).save(path)


INTRINSICS = {"fl_x": 10.0}


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such folder"):
        load_views(tmp_path / "nope")
    (tmp_path / "file").write_text("")
    with pytest.raises(FileFormatError, match="is a file"):
        load_views(tmp_path / "file")


def test_no_camera_file(tmp_path):
    with pytest.raises(FileFormatError, match="looked for cameras.json .* and transforms.json"):
        load_views(tmp_path)


def test_malformed_json_names_the_line(tmp_path):
    (tmp_path / "transforms.json").write_text('{\n "frames": [\n  {"file_path": "a.png",,\n')
    with pytest.raises(FileFormatError, match=r"transforms.json:3: not valid JSON"):
        load_views(tmp_path)


@pytest.mark.parametrize("frames, message", [
    ([frame(), {"transform_matrix": np.eye(4).tolist()}], r"frames\[1\]\.file_path is required"),
    ([{"file_path": "a.png"}], r"frames\[0\]\.transform_matrix is required"),
    ([frame(matrix=np.eye(3).tolist())], r"frames\[0\]\.transform_matrix must be a 4x4"),
    ([frame(matrix=[[float("nan")] * 4] * 4)], r"transform_matrix must be a 4x4 .*finite"),
    ([frame(matrix=(np.eye(4) * [2, 2, 2, 1]).tolist())],
     r"frames\[0\]\.transform_matrix is not a rigid transform: its rotation is not orthonormal"),
    ([frame(matrix=np.diag([1.0, 1.0, -1.0, 1.0]).tolist())], "reflection"),
    ([frame(matrix=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]])],
     r"last row is \[0.0, 0.0, 1.0, 1.0\]"),
    ([], r"holds no views \(frames is empty\)"),
    ("x", "frames must be a non-empty list"),
    (["x"], r"frames\[0\] must be an object"),
])
def test_bad_transforms(tmp_path, frames, message):
    image(tmp_path / "a.png")
    transforms(tmp_path, frames, **INTRINSICS)
    with pytest.raises((InputError, FileFormatError), match=message):
        load_views(tmp_path)


@pytest.mark.parametrize("top, message", [
    ({"fl_x": 10.0, "k1": 0.1}, r"k1 = 0.1: lens distortion is not supported"),
    ({"fl_x": 10.0, "k1": 0.0, "p2": -0.01}, "p2 = -0.01: lens distortion"),
    ({"fl_x": 10.0, "camera_model": "OPENCV_FISHEYE"}, "only pinhole cameras are supported"),
    ({"cx": 4.0}, r"frames\[0\] has no focal length"),
    ({"fl_x": -1.0}, "fl_x must be a positive number"),
    ({"camera_angle_x": 4.0}, r"camera_angle_x must be an angle in radians in \(0, pi\)"),
])
def test_bad_intrinsics(tmp_path, top, message):
    image(tmp_path / "a.png")
    transforms(tmp_path, [frame()], **top)
    with pytest.raises(InputError, match=message):
        load_views(tmp_path)


def test_image_size_other_than_w_h(tmp_path):
    image(tmp_path / "a.png")
    transforms(tmp_path, [frame(h=9)], fl_x=10.0, w=16)
    with pytest.raises(FileFormatError, match="a.png: the image is 8x8 but w in transforms.json "
                                              "is 16"):
        load_views(tmp_path)
    transforms(tmp_path, [frame(h=9)], fl_x=10.0, w=8)
    with pytest.raises(FileFormatError, match=r"the image is 8x8 but frames\[0\]\.h in "):
        load_views(tmp_path)


def test_distortion_error_is_an_input_error(tmp_path):
    image(tmp_path / "a.png")
    transforms(tmp_path, [frame(k2=0.5)], **INTRINSICS)
    with pytest.raises(InputError, match=r"frames\[0\]\.k2 = 0.5: lens distortion"):
        load_views(tmp_path)


def test_missing_images(tmp_path):
    image(tmp_path / "a.png")
    transforms(tmp_path, [frame(), frame("b.png")], **INTRINSICS)
    with pytest.raises(FileNotFoundError, match=r"b.png: no such image file \(of frames\[1\] in "
                                              r"transforms.json\)"):
        load_views(tmp_path)
    transforms(tmp_path, [frame("./train/r_0")], **INTRINSICS)
    with pytest.raises(FileNotFoundError, match="r_0: no such file .*also tried .png and .jpg"):
        load_views(tmp_path)


def test_mismatched_image_sizes(tmp_path):
    image(tmp_path / "a.png", (24, 32))
    image(tmp_path / "b.png", (16, 16))
    transforms(tmp_path, [frame(), frame("b.png")], **INTRINSICS)
    with pytest.raises(FileFormatError, match="mismatched sizes: a.png is 32x24, b.png is 16x16"):
        load_views(tmp_path)


def test_mask_of_another_size(tmp_path):
    image(tmp_path / "a.png", mode="RGB")
    image(tmp_path / "masks" / "a.png", (4, 4), mode="L")
    transforms(tmp_path, [frame()], **INTRINSICS)
    with pytest.raises(FileFormatError, match="a.png: the mask is 4x4 but its image a.png is 8x8"):
        load_views(tmp_path)


def test_rgb_without_mask(tmp_path):
    image(tmp_path / "a.png", mode="RGB")
    transforms(tmp_path, [frame()], **INTRINSICS)
    with pytest.raises(InputError, match=r"a.png: no silhouette: give RGBA images or "
                                         r"masks/a.png"):
        load_views(tmp_path)


def test_missing_mask_path(tmp_path):
    image(tmp_path / "a.png", mode="RGB")
    transforms(tmp_path, [frame(mask_path="m/a.png")], **INTRINSICS)
    with pytest.raises(FileNotFoundError, match=r"m/a.png: no such mask file"):
        load_views(tmp_path)


def test_unreadable_image(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG not really")
    transforms(tmp_path, [frame()], **INTRINSICS)
    with pytest.raises(FileFormatError, match="a.png: cannot read the image"):
        load_views(tmp_path)


def test_bad_image_size_argument(tmp_path):
    with pytest.raises(InputError, match="image_size must be a positive int"):
        load_views(tmp_path, image_size=0)


def good_cameras_json(tmp_path: Path) -> dict:
    save_views(tmp_path, torch.rand(2, 8, 8, 3), torch.ones(2, 8, 8),
               FoVPerspectiveCameras(T=[[0.0, 0.0, 3.0]] * 2))
    return json.loads((tmp_path / "cameras.json").read_text())


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(version=2), "version 2 is not supported; this r3d reads version 1"),
    (lambda d: d.update(format="other"), 'format must be "r3d-cameras"'),
    (lambda d: d.update(convention="opencv"), 'convention must be "pytorch3d"'),
    (lambda d: d.update(camera="orthographic"), "camera must be one of fov_perspective"),
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: d.pop("image_size"), "image_size is required"),
    (lambda d: d.update(image_size=[8, 9]),
     r"image_size is \[8, 9\] \(H, W\) but the images are 8x8"),
    (lambda d: d.update(views=[]), r"holds no views \(views is empty\)"),
    (lambda d: d["views"][1].update(fvo=60), r"unknown key 'fvo' in views\[1\]; did you mean "
                                             r"'fov'\?"),
    (lambda d: d["views"][1].pop("R"), r"views\[1\]\.R is required"),
    (lambda d: d["views"][0].update(R=[[1, 0], [0, 1]]), r"views\[0\]\.R must be a 3x3"),
    (lambda d: d["views"][0].update(R=[[2, 0, 0], [0, 1, 0], [0, 0, 1]]),
     r"views\[0\]\.R is not a rigid transform"),
    (lambda d: d["views"][0].update(T=[0, 0]), r"views\[0\]\.T must be a list of 3 numbers"),
    (lambda d: d["views"][0].update(fov=200), r"views\[0\]\.fov must be a field of view"),
    (lambda d: d["views"][0].update(zfar=0.5), r"views\[0\]\.zfar must be greater than znear"),
    (lambda d: d["views"][0].update(file="gone.png"), "gone.png: no such image file"),
    (lambda d: d["views"][0].update(depth="d.npy"), "d.npy: no such depth file"),
])
def test_bad_cameras_json(tmp_path, edit, message):
    doc = good_cameras_json(tmp_path)
    edit(doc)
    (tmp_path / "cameras.json").write_text(json.dumps(doc))
    with pytest.raises((InputError, FileFormatError, FileNotFoundError), match=message):
        load_views(tmp_path)


def test_bad_depth_file(tmp_path):
    doc = good_cameras_json(tmp_path)
    doc["views"][0]["depth"] = "d.npy"
    (tmp_path / "cameras.json").write_text(json.dumps(doc))
    np.save(tmp_path / "d.npy", np.zeros((4, 4), np.float32))
    with pytest.raises(FileFormatError, match=r"d.npy: the depth map must be a float array of "
                                              r"shape \(8, 8\)"):
        load_views(tmp_path)
    np.save(tmp_path / "d.npy", np.full((8, 8), -1.0, np.float32))
    with pytest.raises(FileFormatError, match="finite depths >= 0"):
        load_views(tmp_path)


def test_bad_save_arguments(tmp_path):
    images, masks = torch.rand(2, 8, 8, 3), torch.ones(2, 8, 8)
    cameras = FoVPerspectiveCameras(T=[[0.0, 0.0, 3.0]] * 2)
    with pytest.raises(InputError, match=r"images must be a float tensor of shape \(V, H, W, 3\)"):
        save_views(tmp_path, images[..., :2], masks, cameras)
    with pytest.raises(InputError, match=r"masks must be a float tensor of shape \(2, 8, 8\)"):
        save_views(tmp_path, images, masks[:1], cameras)
    with pytest.raises(InputError, match="cameras must be a batch of 2 cameras, got 1"):
        save_views(tmp_path, images, masks, cameras[0])
    with pytest.raises(InputError, match="must be FoVPerspectiveCameras or PerspectiveCameras"):
        save_views(tmp_path, images, masks, FoVOrthographicCameras(T=[[0.0, 0.0, 3.0]] * 2))
    with pytest.raises(InputError, match="each name must be a file name ending in .png"):
        save_views(tmp_path, images, masks, cameras, names=["a.png", "sub/b.png"])
    with pytest.raises(InputError, match="names must be distinct"):
        save_views(tmp_path, images, masks, cameras, names=["a.png", "a.png"])
    with pytest.raises(InputError, match="depths must be finite and >= 0"):
        save_views(tmp_path, images, masks, cameras, depths=-torch.ones(2, 8, 8))
    assert list(tmp_path.iterdir()) == []  # nothing written for bad arguments


def test_opencv_cameras_from_the_conversion_save(tmp_path):
    """NDC PerspectiveCameras from cameras_from_opencv_projection save as pixel intrinsics."""
    K = torch.tensor([[30.0, 0, 9.0], [0, 30.0, 7.0], [0, 0, 1]])
    cameras = cameras_from_opencv_projection(torch.eye(3)[None], torch.tensor([[0.0, 0, 3]]),
                                             K[None], torch.tensor([[12, 16]]))
    save_views(tmp_path, torch.rand(1, 12, 16, 3), torch.ones(1, 12, 16), cameras)
    view = json.loads((tmp_path / "cameras.json").read_text())["views"][0]
    assert view["focal_length"] == pytest.approx([30.0, 30.0])
    assert view["principal_point"] == pytest.approx([9.0, 7.0])
    assert_same_projection(load_views(tmp_path).cameras, cameras, (12, 16))
