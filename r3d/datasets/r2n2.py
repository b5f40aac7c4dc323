"""R2N2 (Choy et al. 2016): ShapeNetCore v1 models with 24 renderings each and a split.

Layout::

    <shapenet_dir>/<synset_id>/<model_id>/model.obj              ShapeNetCore v1
    <r2n2_dir>/<views_rel_path>/<synset_id>/<model_id>/rendering/
        00.png ... 23.png          137 x 137 RGBA renderings (transparent background)
        rendering_metadata.txt     one line per view, in view order:
                                   azimuth elevation in_plane_rotation distance_ratio fov
    <r2n2_dir>/<voxels_rel_path>/<synset_id>/<model_id>/model.binvox   (optional)
    splits_file (JSON): {"train": {synset_id: {model_id: [view ids]}}, "val": ..., "test": ...}

Cameras. The renderings were made in Blender with its default 35 mm lens on a 32 mm sensor
(field of view 2 atan(16 / 35) = 49.13 degrees, :data:`R2N2_FOV_DEGREES`; the metadata's fifth
column, 25, is not used), looking at the origin from

    eye = d (cos(elev) cos(azim), sin(elev), cos(elev) sin(azim)),   d = 1.75 distance_ratio

in the model's own (OBJ) coordinates, with +Y up on screen; the in-plane rotation is 0 in the
released data and is ignored. This is r3d's :func:`look_at_view_transform` with
``dist=d, elev=elev, azim=90 - azim``. Items give ``R`` and ``T`` of that camera (``X_view =
X_world R + T``, PyTorch3D's conventions) and ``K``, the projection of
``FoVPerspectiveCameras(fov=R2N2_FOV_DEGREES, znear=0.1, zfar=100)``, so that
``FoVPerspectiveCameras(R=item["R"], T=item["T"], K=item["K"])`` renders the model's vertices as
loaded onto the images.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import torch

from r3d.datasets.shapenet import ShapeNetBase, synset_names
from r3d.errors import FileFormatError, InputError
from r3d.io.binvox import load_binvox
from r3d.io.utils import decode_text, read_file_bytes
from r3d.renderer.cameras import FoVPerspectiveCameras, look_at_view_transform

__all__ = [
    "R2N2",
    "R2N2_FOV_DEGREES",
    "R2N2_MAX_CAMERA_DISTANCE",
    "R2N2_ZFAR",
    "R2N2_ZNEAR",
    "r2n2_camera_pose",
    "read_binvox",
]

R2N2_FOV_DEGREES = math.degrees(2.0 * math.atan(16.0 / 35.0))  # 49.13
R2N2_MAX_CAMERA_DISTANCE = 1.75  # metadata distance ratio 1 <-> this distance
R2N2_ZNEAR = 0.1
R2N2_ZFAR = 100.0
_SPLITS = ("train", "val", "test")
_MODEL_FILE = "model.obj"


def r2n2_camera_pose(azimuth, elevation, distance) -> tuple[torch.Tensor, torch.Tensor]:
    """R (N, 3, 3) and T (N, 3) of R2N2's cameras (see the module's notes).

    Args:
        azimuth, elevation: degrees, numbers or (N,) tensors, as in ``rendering_metadata.txt``.
        distance: distance of the camera from the origin (1.75 times the metadata's ratio).
    """
    if isinstance(azimuth, torch.Tensor):
        azim = 90.0 - azimuth
    else:
        azim = 90.0 - torch.as_tensor(azimuth, dtype=torch.float32)
    return look_at_view_transform(dist=distance, elev=elevation, azim=azim)


def _projection() -> torch.Tensor:
    """(4, 4) column-vector projection of R2N2's cameras."""
    cams = FoVPerspectiveCameras(znear=R2N2_ZNEAR, zfar=R2N2_ZFAR, fov=R2N2_FOV_DEGREES)
    return cams.get_projection_transform().get_matrix()[0].transpose(0, 1).contiguous()


def read_binvox(path: str | os.PathLike) -> torch.Tensor:
    """Dense occupancy grid of a ``.binvox`` file: (D, D, D) uint8 indexed ``[x, y, z]`` (the
    items' ``voxels``), read by :func:`r3d.io.load_binvox` (whose VoxelGrid is ``[z, y, x]``)."""
    grid = load_binvox(path)
    return grid.densities.permute(2, 1, 0).to(torch.uint8).contiguous()


def _read_metadata(path: str) -> list[tuple[float, float, float, float, float]]:
    """The (azimuth, elevation, in-plane rotation, distance ratio, fov) of each view."""
    text = decode_text(read_file_bytes(path))
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            values = [float(t) for t in tokens[:5]]
        except ValueError:
            values = []
        if len(values) != 5:
            raise FileFormatError(path, "expected 5 numbers: azimuth elevation in-plane "
                                        "rotation distance-ratio fov", lineno)
        rows.append(tuple(values))
    return rows


def _read_rgba(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W, 3) RGB and (H, W) alpha (ones without an alpha channel), float32 in [0, 1]."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            arr = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    except OSError as exc:
        raise FileFormatError(path, f"cannot read the image ({exc})") from None
    rgba = torch.from_numpy(np.ascontiguousarray(arr))
    alpha = rgba[..., 3] if has_alpha else torch.ones_like(rgba[..., 3])
    return rgba[..., :3].contiguous(), alpha.contiguous()


class R2N2(ShapeNetBase):
    """One split of R2N2: ShapeNetCore v1 models, their renderings and cameras.

    Args:
        split: "train", "val" or "test".
        shapenet_dir: ShapeNetCore v1 (``<synset_id>/<model_id>/model.obj``).
        r2n2_dir: the R2N2 folder (see the module's notes for its layout).
        splits_file: the JSON split file.
        return_all_views: load every view the split lists for a model; else one of them, drawn
            at random (with torch's generator) when the dataset is made.
        return_voxels: also return ``<r2n2_dir>/<voxels_rel_path>/<synset>/<model>/model.binvox``
            as a dense grid (see :func:`read_binvox`).
        views_rel_path, voxels_rel_path: the renderings' and voxels' folders inside r2n2_dir.
        load_textures, texture_resolution: as for :class:`ShapeNetCore`.

    Models of the split whose OBJ file or rendering folder is missing are left out with one
    warning giving their count (listed in ``skipped``).

    Raises:
        InputError: a bad split, a split file without that split or with malformed entries,
            a missing renderings folder, or no model found.
    """

    def __init__(
        self,
        split: str,
        shapenet_dir: str | os.PathLike,
        r2n2_dir: str | os.PathLike,
        splits_file: str | os.PathLike,
        return_all_views: bool = True,
        return_voxels: bool = False,
        views_rel_path: str = "ShapeNetRendering",
        voxels_rel_path: str = "ShapeNetVox32",
        load_textures: bool = True,
        texture_resolution: int = 4,
    ) -> None:
        super().__init__(load_textures, texture_resolution)
        op = "R2N2"
        if split not in _SPLITS:
            raise InputError(f"{op}: split must be one of {_SPLITS}, got {split!r}")
        self.split = split
        self.shapenet_dir = os.fspath(shapenet_dir)
        self.r2n2_dir = os.fspath(r2n2_dir)
        self.views_dir = os.path.join(self.r2n2_dir, views_rel_path)
        self.voxels_dir = os.path.join(self.r2n2_dir, voxels_rel_path)
        self.return_voxels = bool(return_voxels)
        if not os.path.isdir(self.views_dir):
            raise InputError(f"{op}: no renderings folder {self.views_dir} (r2n2_dir + "
                             f"views_rel_path)")
        if self.return_voxels and not os.path.isdir(self.voxels_dir):
            raise InputError(f"{op}: return_voxels is True but there is no voxels folder "
                             f"{self.voxels_dir} (r2n2_dir + voxels_rel_path)")
        splits_path = os.fspath(splits_file)
        try:
            splits = json.loads(read_file_bytes(splits_path).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileFormatError(splits_path, f"not a JSON split file ({exc})") from None
        if not isinstance(splits, dict) or not isinstance(splits.get(split), dict):
            raise InputError(f"{op}: splits_file {splits_path} has no {split!r} entry mapping "
                             f"synset ids to models")
        table = synset_names(1)
        self.views_per_model: list[list[int]] = []
        for sid in sorted(splits[split]):
            models = splits[split][sid]
            if not isinstance(models, dict):
                raise InputError(f"{op}: splits_file {splits_path}: {split}/{sid} must map "
                                 f"model ids to lists of view ids")
            self.labels[sid] = table.get(sid, sid)
            for mid in sorted(models):
                views = models[mid]
                if not (isinstance(views, list) and views
                        and all(isinstance(v, int) and v >= 0 for v in views)):
                    raise InputError(f"{op}: splits_file {splits_path}: {split}/{sid}/{mid} "
                                     f"must be a non-empty list of view ids, got {views!r}")
                meta = os.path.join(self._rendering_dir(sid, mid), "rendering_metadata.txt")
                if not os.path.isfile(meta):
                    self.skipped.append((sid, mid))
                    continue
                obj = os.path.join(self.shapenet_dir, sid, mid, _MODEL_FILE)
                if not self._add_model(sid, mid, obj):
                    continue
                if not return_all_views:
                    views = [views[int(torch.randint(len(views), (1,)))]]
                self.views_per_model.append(list(views))
        if not self.model_ids:
            raise InputError(
                f"{op}: found no model of split {split!r} of {splits_path}: looked for "
                f"<synset_id>/<model_id>/{_MODEL_FILE} in shapenet_dir {self.shapenet_dir} and "
                f"<synset_id>/<model_id>/rendering/ in {self.views_dir}"
            )
        self._warn_skipped(self.shapenet_dir, f"{_MODEL_FILE} or renderings")
        self._K = _projection()

    def _rendering_dir(self, synset_id: str, model_id: str) -> str:
        return os.path.join(self.views_dir, synset_id, model_id, "rendering")

    def __getitem__(self, idx) -> dict:
        """Loads model ``idx`` with its views; ``idx`` may be a pair (model index, view ids).

        Args:
            idx: model index, or (model index, view ids) where the view ids (an int or a list)
                must be among the ones the split lists for the model (``views_per_model``).

        Returns:
            the fields of :meth:`ShapeNetCore.__getitem__` ("synset_id", "model_id", "label",
            "verts", "faces", "textures") and, for the V views returned:
            "views" (list of V ints), "images" (V, 137, 137, 3) float32 RGB in [0, 1],
            "masks" (V, 137, 137) float32 alpha in [0, 1], "R" (V, 3, 3), "T" (V, 3),
            "K" (V, 4, 4) (see the module's notes), and with ``return_voxels``
            "voxels" (D, D, D) uint8.
        """
        view_ids = None
        if isinstance(idx, tuple):
            if len(idx) != 2:
                raise InputError(f"R2N2: index must be an int or (int, view ids), got {idx!r}")
            idx, view_ids = idx
        i = self._index(idx)
        views = self.views_per_model[i]
        if view_ids is not None:
            if isinstance(view_ids, torch.Tensor):
                view_ids = view_ids.tolist()
            if isinstance(view_ids, int):
                view_ids = [view_ids]
            missing = [v for v in view_ids if v not in views]
            if missing or not view_ids:
                raise InputError(f"R2N2: view ids {view_ids} of model {i} are not all among the "
                                 f"split's views {views}")
            views = list(view_ids)
        item = self._load_model(i)
        folder = self._rendering_dir(item["synset_id"], item["model_id"])
        meta_path = os.path.join(folder, "rendering_metadata.txt")
        meta = _read_metadata(meta_path)
        if max(views) >= len(meta):
            raise FileFormatError(meta_path, f"has {len(meta)} views, view {max(views)} asked")
        images, masks = zip(*(_read_rgba(os.path.join(folder, f"{v:02d}.png")) for v in views))
        rows = torch.tensor([meta[v] for v in views], dtype=torch.float32)
        R, T = r2n2_camera_pose(rows[:, 0], rows[:, 1], rows[:, 3] * R2N2_MAX_CAMERA_DISTANCE)
        item.update(
            views=list(views),
            images=torch.stack(images),
            masks=torch.stack(masks),
            R=R,
            T=T,
            K=self._K.expand(len(views), 4, 4).clone(),
        )
        if self.return_voxels:
            path = os.path.join(self.voxels_dir, item["synset_id"], item["model_id"],
                                "model.binvox")
            item["voxels"] = read_binvox(path)
        return item
