"""Writing views: the ``cameras.json`` document of a batch of cameras
(:func:`cameras_document`, :func:`write_cameras_json`) and whole view folders that
:func:`~r3d.views.load_views` reads back (:func:`save_views`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.io import atomic_open
from r3d.renderer.camera_conversions import opencv_from_cameras_projection
from r3d.renderer.cameras import CamerasBase, FoVPerspectiveCameras, PerspectiveCameras
from r3d.runs.images import to_uint8, write_png
from r3d.views.cameras_json import CAMERAS_FILE, FORMAT, VERSION
from r3d.views.viewset import check_view_tensors


def cameras_document(
    cameras: CamerasBase,
    image_size: Sequence[int],
    files: Sequence[str],
    masks: Sequence[str] | None = None,
    depths: Sequence[str] | None = None,
) -> dict:
    """The ``cameras.json`` content (a JSON-ready dict) of V cameras.

    Args:
        cameras: V FoVPerspectiveCameras (no custom K) or PerspectiveCameras (NDC or screen).
        image_size: (H, W) of the views' images.
        files, masks, depths: V file names each (relative to the folder) of the images, and
            of the silhouettes and depth .npy files when given.
    """
    op = "cameras_document"
    if not isinstance(cameras, (FoVPerspectiveCameras, PerspectiveCameras)):
        raise InputError(f"{op}: cameras must be FoVPerspectiveCameras or PerspectiveCameras, "
                         f"got {describe(cameras)}")
    height, width = (int(s) for s in image_size)
    n = len(cameras)
    for name, names in (("files", files), ("masks", masks), ("depths", depths)):
        if names is not None and len(names) != n:
            raise InputError(f"{op}: {name} must name {n} files (one per camera), got "
                             f"{len(names)}")
    R, T = cameras.R.detach().cpu().double(), cameras.T.detach().cpu().double()
    if isinstance(cameras, FoVPerspectiveCameras):
        if cameras.K is not None:
            raise InputError(f"{op}: FoVPerspectiveCameras with a custom K cannot be saved")
        kind = "fov_perspective"
        fov = cameras.fov if cameras.degrees else torch.rad2deg(cameras.fov)
        params = [{"fov": f, "degrees": True, "znear": zn, "zfar": zf, "aspect_ratio": a}
                  for f, zn, zf, a in zip(*(t.detach().cpu().double().tolist() for t in (
                      fov, cameras.znear, cameras.zfar, cameras.aspect_ratio)))]
    else:
        kind = "perspective"
        own = cameras.get_image_size()
        if not cameras.in_ndc() and bool((own != own.new_tensor([height, width])).any()):
            raise InputError(f"{op}: screen-space cameras of image_size {own[0].tolist()} "
                             f"cannot describe images of {[height, width]} (H, W)")
        _, _, K = opencv_from_cameras_projection(cameras, image_size=[height, width])
        params = [{"focal_length": [k[0][0], k[1][1]], "principal_point": [k[0][2], k[1][2]]}
                  for k in K.detach().cpu().double().tolist()]
    if not (torch.isfinite(R).all() and torch.isfinite(T).all()):
        raise InputError(f"{op}: the cameras' R and T must be finite")
    views = []
    for i in range(n):
        view: dict[str, Any] = {"file": files[i]}
        if masks is not None:
            view["mask"] = masks[i]
        if depths is not None:
            view["depth"] = depths[i]
        views.append({**view, "R": R[i].tolist(), "T": T[i].tolist(), **params[i]})
    return {"format": FORMAT, "version": VERSION, "convention": "pytorch3d", "camera": kind,
            "image_size": [height, width], "views": views}


def write_cameras_json(path: str | os.PathLike, doc: dict) -> Path:
    """Writes a :func:`cameras_document` to ``path`` as JSON, atomically, one line per view;
    returns the path."""
    lines = [f" {json.dumps(key)}: {json.dumps(value)}," for key, value in doc.items()
             if key != "views"]
    views = ",\n".join(f"  {json.dumps(view)}" for view in doc["views"])
    text = "{\n" + "\n".join(lines) + '\n "views": [\n' + views + "\n ]\n}\n"
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def save_views(
    folder: str | os.PathLike,
    images: torch.Tensor,
    masks: torch.Tensor,
    cameras: FoVPerspectiveCameras | PerspectiveCameras,
    names: Sequence[str] | None = None,
    depths: torch.Tensor | None = None,
) -> list[Path]:
    """Writes views that :func:`load_views` reads back: RGBA PNGs (alpha = mask), depth .npy
    files and ``cameras.json``, each atomically; cameras.json last, so a folder that has one
    is complete.

    Args:
        folder: created when missing.
        images: (V, H, W, 3) float colours in [0, 1] (8 bits per channel are kept).
        masks: (V, H, W) float silhouettes in [0, 1].
        cameras: V cameras (see :func:`cameras_document`).
        names: V distinct PNG file names; default ``view_000.png``, ``view_001.png``, ...
        depths: (V, H, W) float view-space depths >= 0 (0: background), saved exactly as
            float32 ``depth_000.npy``, ...; or None.
    Returns:
        the paths written, cameras.json last.
    """
    op = "save_views"
    v = check_view_tensors(op, images, masks, depths)
    if depths is not None and not (torch.isfinite(depths).all() and (depths >= 0).all()):
        raise InputError(f"{op}: depths must be finite and >= 0 (0: background)")
    if not isinstance(cameras, CamerasBase) or len(cameras) != v:
        got = f"{len(cameras)} cameras" if isinstance(cameras, CamerasBase) else describe(cameras)
        raise InputError(f"{op}: cameras must be a batch of {v} cameras, got {got}")
    names = [f"view_{i:03d}.png" for i in range(v)] if names is None else list(names)
    _check_names(op, names, v)
    depth_names = None if depths is None else [f"depth_{i:03d}.npy" for i in range(v)]
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{op}: the output folder {folder} is a file")
    doc = cameras_document(cameras, images.shape[1:3], names, depths=depth_names)  # checks first
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, name in enumerate(names):
        rgba = np.concatenate([to_uint8(images[i]), to_uint8(masks[i])[..., None]], axis=-1)
        written.append(write_png(folder / name, rgba))
    for i, name in enumerate(depth_names or []):
        with atomic_open(folder / name, "wb") as handle:
            np.save(handle, depths[i].detach().float().cpu().numpy())
        written.append(folder / name)
    written.append(write_cameras_json(folder / CAMERAS_FILE, doc))
    return written


def _check_names(op: str, names: list, v: int) -> None:
    """V distinct plain file names ending in .png."""
    if len(names) != v:
        raise InputError(f"{op}: names must hold {v} file names (one per view), got {len(names)}")
    for name in names:
        if not isinstance(name, str) or Path(name).name != name or \
                not name.lower().endswith(".png") or name.startswith("."):
            raise InputError(f"{op}: each name must be a file name ending in .png (no folder), "
                             f"got {name!r}")
    if len(set(names)) != v:
        raise InputError(f"{op}: names must be distinct, got {names}")
