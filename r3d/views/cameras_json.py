"""r3d's own ``cameras.json``: its file name, format and version, and its reader (views of
``fov_perspective`` or ``perspective`` cameras, R and T as PyTorch3D)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.renderer.camera_conversions import opencv_from_cameras_projection
from r3d.renderer.cameras import PerspectiveCameras
from r3d.schema import REQUIRED, Node, parse_float, parse_vector
from r3d.views.camera_models import Cameras, FoVModel, PinholeModel
from r3d.views.images import ViewFiles
from r3d.views.nodes import (
    check_rotation,
    frame_nodes,
    matrix_of,
    node_location,
    read_json,
    relative_file,
)

CAMERAS_FILE = "cameras.json"
FORMAT = "r3d-cameras"
VERSION = 1
CAMERA_KINDS = ("fov_perspective", "perspective")

_TOP_KEYS = ("format", "version", "convention", "camera", "image_size", "views")
_VIEW_KEYS = {
    "fov_perspective": ("file", "mask", "depth", "R", "T", "fov", "degrees", "znear", "zfar",
                        "aspect_ratio"),
    "perspective": ("file", "mask", "depth", "R", "T", "focal_length", "principal_point"),
}


def read_cameras_json(path: Path) -> tuple[list[ViewFiles], Callable[[int, int], Cameras]]:
    """The views of r3d's ``cameras.json`` at ``path``: their files, and a function building
    the V cameras for an image size (H, W). FileFormatError / InputError name the key."""
    doc = read_json(path)
    doc.check_keys(_TOP_KEYS)
    fmt = doc.get("format", REQUIRED, str, f'"{FORMAT}"')
    if fmt != FORMAT:
        raise doc.error("format", f'"{FORMAT}"')
    version = doc.integer("version")
    if version != VERSION:
        raise InputError(f"{path}: version {version} is not supported; this r3d reads version "
                         f"{VERSION}")
    if doc.get("convention", REQUIRED, str, '"pytorch3d"') != "pytorch3d":
        raise doc.error("convention", '"pytorch3d" (X_view = X_world R + T, +X left, +Y up)')
    kind = doc.choice("camera", CAMERA_KINDS)
    size = doc.get("image_size", REQUIRED, _size, "[H, W]: two ints > 0")
    frames, R, T, params = [], [], [], []
    for node in frame_nodes(doc, "views"):
        node.check_keys(_VIEW_KEYS[kind])
        optional = {
            key: relative_file(node, key, "a file name") if node.has(key) else None
            for key in ("mask", "depth")
        }
        frames.append(ViewFiles(relative_file(node, "file", "an image file name"),
                             optional["mask"], optional["depth"], node_location(node)))
        rotation = node.get("R", REQUIRED, lambda v: matrix_of(v, 3, 3),
                            "a 3x3 rotation matrix (a list of 3 rows of 3 numbers)")
        check_rotation(node, "R", rotation)
        R.append(rotation)
        T.append(node.vector("T"))
        params.append(_fov_params(node) if kind == "fov_perspective" else _pinhole_params(node))

    def make(height: int, width: int) -> Cameras:
        if (height, width) != size:
            raise FileFormatError(path, f"image_size is {list(size)} (H, W) but the images are "
                                        f"{width}x{height} (W x H)")
        p = np.array(params, dtype=np.float64)
        R_, T_ = np.stack(R), np.array(T)
        if kind == "fov_perspective":
            return FoVModel(R_, T_, *p.T)
        # PyTorch3D's pose and pixel intrinsics to OpenCV, through the conversion's inverse
        screen = PerspectiveCameras(
            focal_length=torch.from_numpy(p[:, :2]), principal_point=torch.from_numpy(p[:, 2:]),
            R=torch.from_numpy(R_), T=torch.from_numpy(T_), in_ndc=False, image_size=[size],
        )
        R_cv, tvec, K = opencv_from_cameras_projection(screen)
        return PinholeModel(R_cv.numpy(), tvec.numpy(), K.numpy())

    return frames, make


def _fov_params(node: Node) -> list[float]:
    """[fov in degrees, znear, zfar, aspect_ratio] of a fov_perspective view."""
    degrees = node.boolean("degrees", True)
    limit = 180.0 if degrees else math.pi
    fov = node.get("fov", REQUIRED, lambda v: _in_range(parse_float(v), 0.0, limit),
                   f"a field of view in {'degrees' if degrees else 'radians'}, in (0, {limit:g})")
    znear = node.number("znear", 1.0, positive=True)
    zfar = node.number("zfar", 100.0, positive=True)
    if zfar <= znear:
        raise node.error("zfar", f"greater than znear ({znear:g})")
    aspect = node.number("aspect_ratio", 1.0, positive=True)
    return [fov if degrees else math.degrees(fov), znear, zfar, aspect]


def _pinhole_params(node: Node) -> list[float]:
    """[fx, fy, cx, cy] in pixels of a perspective view."""
    focal = node.get("focal_length", REQUIRED,
                     lambda v: _checked_all(parse_vector(v, 2), lambda f: f > 0),
                     "[fx, fy]: two focal lengths > 0 in pixels")
    centre = node.get("principal_point", REQUIRED, lambda v: parse_vector(v, 2),
                      "[cx, cy]: the principal point in pixels")
    return [*focal, *centre]


def _in_range(x: float, lo: float, hi: float) -> float:
    if not lo < x < hi:
        raise ValueError(x)
    return x


def _checked_all(values: tuple[float, ...], ok: Callable[[float], bool]) -> tuple[float, ...]:
    if not all(ok(v) for v in values):
        raise ValueError(values)
    return values


def _size(value: Any) -> tuple[int, int]:
    """[H, W] of ints > 0."""
    if not isinstance(value, list) or len(value) != 2 or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value
    ):
        raise ValueError(value)
    return value[0], value[1]
