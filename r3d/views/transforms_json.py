"""The instant-ngp / nerfstudio ``transforms.json`` reader: OpenGL camera-to-world frames,
pinhole intrinsics from the frame or the top level, refusing distortion and other camera
models."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from r3d.errors import FileFormatError, InputError, MissingFileError
from r3d.schema import REQUIRED, Node
from r3d.views.camera_models import Cameras, PinholeModel
from r3d.views.images import IMAGE_EXTENSIONS, ViewFiles
from r3d.views.nodes import (
    RIGID_TOL,
    check_rotation,
    frame_nodes,
    matrix_of,
    node_location,
    read_json,
    relative_file,
)

TRANSFORMS_FILE = "transforms.json"
# tried in this order after a transforms.json file_path without an extension
IMPLIED_EXTENSIONS = (".png", ".jpg")
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV", "SIMPLE_RADIAL", "RADIAL")

# OpenGL camera axes (x right, y up, looking along -z) to OpenCV's (x right, y down, along +z)
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def read_transforms_json(path: Path) -> tuple[list[ViewFiles], Callable[[int, int], Cameras]]:
    """The views of an instant-ngp / nerfstudio ``transforms.json`` at ``path`` (OpenGL
    camera-to-world frames): their files, and a function building the V cameras for an image
    size (H, W)."""
    doc = read_json(path)
    frames, R, tvec, intrinsics = [], [], [], []
    for node in frame_nodes(doc, "frames"):
        image = relative_file(node, "file_path", "an image path")
        mask = relative_file(node, "mask_path", "a mask path") if node.has("mask_path") \
            else None
        frames.append(ViewFiles(_with_extension(image, node), mask, None, node_location(node)))
        c2w = node.get("transform_matrix", REQUIRED, lambda v: matrix_of(v, 4, 4),
                       "a 4x4 camera-to-world matrix of finite numbers")
        last = np.abs(c2w[3] - [0.0, 0.0, 0.0, 1.0]).max()
        if last > RIGID_TOL:
            raise InputError(f"{path}: {node.key_path('transform_matrix')} is not a rigid "
                             f"transform: its last row is {c2w[3].tolist()}, not [0, 0, 0, 1]")
        check_rotation(node, "transform_matrix", c2w[:3, :3])
        # world-to-camera of the OpenCV camera: R = (C F)^T with F flipping y and z, t = -R c
        rotation = (c2w[:3, :3] @ _GL_TO_CV).T
        R.append(rotation)
        tvec.append(-rotation @ c2w[:3, 3])
        intrinsics.append(_Intrinsics(doc, node))

    def make(height: int, width: int) -> Cameras:
        K = np.stack([i.matrix(frame.image, height, width)
                      for i, frame in zip(intrinsics, frames)])
        return PinholeModel(np.stack(R), np.stack(tvec), K)

    return frames, make


def _with_extension(image: Path, node: Node) -> Path:
    """``image``, or ``image`` + .png / .jpg when the path has no image extension and does not
    exist (NeRF-synthetic's "./train/r_0")."""
    if os.path.exists(image) or image.suffix.lower() in IMAGE_EXTENSIONS:
        return image
    for ext in IMPLIED_EXTENSIONS:
        candidate = image.with_name(image.name + ext)
        if os.path.isfile(candidate):  # (False for names the system refuses)
            return candidate
    tried = " and ".join(IMPLIED_EXTENSIONS)
    raise MissingFileError(image, f"no such file ({node_location(node)}; also tried {tried})")


class _Intrinsics:
    """The pinhole intrinsics of one transforms.json frame: its own keys, else the top level's."""

    def __init__(self, doc: Node, frame: Node) -> None:
        self.doc, self.frame = doc, frame
        model = self._source("camera_model")
        if model is not None:
            name = model.value["camera_model"]
            if name not in PINHOLE_MODELS:
                raise InputError(f"{doc.file}: {model.key_path('camera_model')} is {name!r}; only"
                                 f" pinhole cameras are supported ({', '.join(PINHOLE_MODELS)})")
        for key in DISTORTION_KEYS:
            value = self.number(key)
            if value not in (None, 0.0):
                where = self._source(key).key_path(key)
                raise InputError(f"{doc.file}: {where} = {value:g}: lens distortion is not "
                                 "supported; undistort the images first (and set it to 0)")

    def _source(self, key: str) -> Node | None:
        """The node (frame, else top level) that gives ``key``, or None."""
        return next((n for n in (self.frame, self.doc) if n.has(key)), None)

    def number(self, key: str, positive: bool = False) -> float | None:
        node = self._source(key)
        return None if node is None else node.number(key, positive=positive)

    def matrix(self, image: Path, height: int, width: int) -> np.ndarray:
        """K (3, 3) in pixels for an image of ``height`` x ``width``."""
        for key, actual in (("w", width), ("h", height)):
            given = self.number(key, positive=True)
            if given is not None and given != actual:
                raise FileFormatError(
                    image, f"the image is {width}x{height} but {self._source(key).key_path(key)}"
                           f" in {self.doc.file.name} is {given:g}"
                )
        fx, fy = self.number("fl_x", True), self.number("fl_y", True)
        for key, side, current in (("camera_angle_x", width, fx), ("camera_angle_y", height, fy)):
            angle = self.number(key, True)
            if current is None and angle is not None:
                if angle >= math.pi:
                    raise self._source(key).error(key, "an angle in radians in (0, pi)")
                focal = 0.5 * side / math.tan(angle / 2)
                fx, fy = (focal, fy) if key == "camera_angle_x" else (fx, focal)
        if fx is None and fy is None:
            raise InputError(f"{self.doc.file}: {self.frame.path} has no focal length: give "
                             "fl_x and/or fl_y, or camera_angle_x and/or camera_angle_y (in the "
                             "frame or at the top level)")
        fx, fy = fx if fx is not None else fy, fy if fy is not None else fx
        cx, cy = self.number("cx"), self.number("cy")
        cx, cy = width / 2 if cx is None else cx, height / 2 if cy is None else cy
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
