"""The multi-view input of ``r3d fit``: images, silhouettes, cameras (and depths) of a folder.

A folder of views holds r3d's own ``cameras.json`` or, when it has none, a ``transforms.json``
in the instant-ngp / nerfstudio convention (when both are there, ``cameras.json`` is read and
``transforms.json`` ignored). :func:`load_views` reads either into a :class:`ViewSet`;
:func:`save_views` writes one (RGBA PNGs and ``cameras.json``), and ``r3d render`` writes a
``cameras.json`` beside its views.

Silhouettes. Each image needs one, found in this order: the view's own mask file
(``"mask"`` in cameras.json, ``"mask_path"`` in transforms.json); the alpha channel of an RGBA
image (its colour is kept as stored, not premultiplied); ``masks/<stem>.<ext>`` (any image
extension) in the image's folder, then in the views folder. A mask image is read as its alpha
channel when it has a non-opaque one, else as its first (grey) channel, scaled to [0, 1].

Pixels follow :func:`r3d.renderer.cameras_from_opencv_projection`: pixel coordinates have +x
right, +y down, (0, 0) at the top-left corner of the image and (W / 2, H / 2) at its centre (no
half-pixel shift), which is also the convention of instant-ngp and nerfstudio.

``cameras.json`` (format version 1; R and T as PyTorch3D: X_view = X_world R + T, view +X left,
+Y up, +Z forward)::

    {"format": "r3d-cameras", "version": 1, "convention": "pytorch3d",
     "camera": "fov_perspective",        # or "perspective"
     "image_size": [H, W],               # of every view's image, in pixels
     "views": [
       {"file": "view_000.png",          # the image, relative to the folder
        "mask": "silhouette_000.png",    # optional: the silhouette (else alpha or masks/)
        "depth": "depth_000.npy",        # optional: (H, W) float32 .npy of view-space depth,
                                         #   0 where background
        "R": [[r00, r01, r02], [r10, r11, r12], [r20, r21, r22]], "T": [t0, t1, t2],
        # "camera": "fov_perspective" (FoVPerspectiveCameras; fov over the shorter side):
        "fov": 60.0, "degrees": true, "znear": 0.1, "zfar": 100.0, "aspect_ratio": 1.0
        # "camera": "perspective" (pinhole, in pixels as above; OpenCV's fx, fy, cx, cy):
        #   "focal_length": [fx, fy], "principal_point": [cx, cy]
       }, ...]}

``degrees``, ``znear``, ``zfar`` and ``aspect_ratio`` are optional (defaults as above but znear
1.0, as FoVPerspectiveCameras). Unknown keys are errors.

``transforms.json`` (instant-ngp / nerfstudio / NeRF-synthetic): ``frames``, each with
``file_path`` (relative to the json; without an extension, ``.png`` then ``.jpg`` are tried),
``transform_matrix`` (4x4 camera-to-world, OpenGL camera axes: x right, y up, looking along
-z; a rigid transform) and optionally ``mask_path``. Intrinsics come from the frame, else from
the top level: ``fl_x`` and/or ``fl_y`` (one gives both), or ``camera_angle_x`` and/or
``camera_angle_y`` in radians (fl = 0.5 w / tan(angle / 2)); ``cx``, ``cy`` (default: the
image centre); ``w``, ``h`` (default: the image's; when given they must be the image's).
Non-zero distortion (``k1``..``k4``, ``p1``, ``p2``) and camera models other than pinhole are
refused; other keys are ignored. Depth maps are not read from transforms.json.

Cameras of a loaded ViewSet: ``fov_perspective`` views give :class:`FoVPerspectiveCameras`;
``perspective`` views and transforms.json give NDC :class:`PerspectiveCameras` with
``image_size`` (through :func:`cameras_from_opencv_projection`). Either renders the images at
their size (H, W).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from r3d._checks import describe
from r3d.errors import FileFormatError, InputError
from r3d.io import atomic_open
from r3d.io.utils import load_image
from r3d.renderer.camera_conversions import (
    cameras_from_opencv_projection,
    opencv_from_cameras_projection,
)
from r3d.renderer.cameras import CamerasBase, FoVPerspectiveCameras, PerspectiveCameras
from r3d.runs.images import to_uint8, write_png
from r3d.schema import REQUIRED, Node, parse_float, parse_vector

__all__ = [
    "CAMERAS_FILE",
    "TRANSFORMS_FILE",
    "ViewSet",
    "cameras_document",
    "load_views",
    "save_views",
    "write_cameras_json",
]

CAMERAS_FILE = "cameras.json"
TRANSFORMS_FILE = "transforms.json"
FORMAT = "r3d-cameras"
VERSION = 1
CAMERA_KINDS = ("fov_perspective", "perspective")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# tried in this order after a transforms.json file_path without an extension
IMPLIED_EXTENSIONS = (".png", ".jpg")
RIGID_TOL = 1e-3  # max |R^T R - I| (and |last row - [0, 0, 0, 1]|) of a rigid transform
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV", "SIMPLE_RADIAL", "RADIAL")

_TOP_KEYS = ("format", "version", "convention", "camera", "image_size", "views")
_VIEW_KEYS = {
    "fov_perspective": ("file", "mask", "depth", "R", "T", "fov", "degrees", "znear", "zfar",
                        "aspect_ratio"),
    "perspective": ("file", "mask", "depth", "R", "T", "focal_length", "principal_point"),
}


# ---- the view set ------------------------------------------------------------------------------


@dataclass
class ViewSet:
    """V views of one object: images, silhouettes, cameras, names, and optional depths.

    Attributes:
        images: (V, H, W, 3) float32 colours in [0, 1] (not premultiplied by the masks).
        masks: (V, H, W) float32 silhouettes in [0, 1].
        cameras: a batch of V cameras; rendering with them at (H, W) reproduces the images.
        names: V names: each image's path relative to the views folder.
        depths: (V, H, W) float32 view-space depth, 0 where background; or None.
    """

    images: torch.Tensor
    masks: torch.Tensor
    cameras: CamerasBase
    names: list[str]
    depths: torch.Tensor | None = None

    def __post_init__(self) -> None:
        op = "ViewSet"
        images = self.images
        if not (isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[3] == 3
                and images.is_floating_point() and images.shape[0] > 0):
            raise InputError(f"{op}: images must be a float tensor of shape (V, H, W, 3) with "
                             f"V >= 1, got {describe(images)}")
        v, h, w = images.shape[:3]
        for name in ("masks", "depths"):
            value = getattr(self, name)
            if value is None and name == "depths":
                continue
            if not (isinstance(value, torch.Tensor) and value.is_floating_point()
                    and tuple(value.shape) == (v, h, w)):
                raise InputError(f"{op}: {name} must be a float tensor of shape {(v, h, w)} "
                                 f"(V, H, W) like the images, got {describe(value)}")
        if not isinstance(self.cameras, CamerasBase) or len(self.cameras) != v:
            got = f"{len(self.cameras)} cameras" if isinstance(self.cameras, CamerasBase) \
                else describe(self.cameras)
            raise InputError(f"{op}: cameras must be a batch of {v} cameras (one per image), "
                             f"got {got}")
        if not isinstance(self.names, list) or len(self.names) != v \
                or not all(isinstance(n, str) for n in self.names):
            raise InputError(f"{op}: names must be a list of {v} strings, got {self.names!r}")

    def __len__(self) -> int:
        """V, the number of views."""
        return self.images.shape[0]

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every view."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def subset(self, idx: Sequence[int] | torch.Tensor) -> ViewSet:
        """The views at ``idx``, in that order, as a new ViewSet.

        Args:
            idx: a non-empty list of ints (negative ones count from the end), an int64 tensor
                (K,) or a bool tensor (V,).
        """
        ids = _indices("ViewSet.subset", idx, len(self))
        index = torch.tensor(ids, dtype=torch.long, device=self.images.device)
        return ViewSet(
            images=self.images[index],
            masks=self.masks[index],
            cameras=self.cameras[ids],
            names=[self.names[i] for i in ids],
            depths=None if self.depths is None else self.depths[index],
        )

    def to(self, device: torch.device | str) -> ViewSet:
        """A ViewSet on ``device`` (the cameras are copied; this one is left as it is)."""
        return ViewSet(
            images=self.images.to(device),
            masks=self.masks.to(device),
            cameras=self.cameras.clone().to(device),
            names=list(self.names),
            depths=None if self.depths is None else self.depths.to(device),
        )


def _indices(op: str, idx: object, n: int) -> list[int]:
    """``idx`` (list of ints, int64 (K,) or bool (n,) tensor) as a non-empty list in [0, n)."""
    if isinstance(idx, torch.Tensor):
        if idx.dtype == torch.bool and tuple(idx.shape) == (n,):
            ids = idx.nonzero()[:, 0].tolist()
        elif idx.dtype in (torch.int64, torch.int32) and idx.dim() == 1:
            ids = idx.tolist()
        else:
            raise InputError(f"{op}: idx must be an int64 tensor (K,) or a bool tensor ({n},), "
                             f"got {describe(idx)}")
    elif isinstance(idx, Sequence) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in idx
    ):
        ids = list(idx)
    else:
        raise InputError(f"{op}: idx must be a list of ints or a tensor, got {idx!r}")
    if not ids:
        raise InputError(f"{op}: idx selects no view; give at least one")
    bad = [i for i in ids if not -n <= i < n]
    if bad:
        raise InputError(f"{op}: index {bad[0]} is out of range for {n} views")
    return [i % n for i in ids]


# ---- cameras before they are built --------------------------------------------------------------


@dataclass
class _Pinhole:
    """OpenCV cameras: world-to-camera R (V, 3, 3), tvec (V, 3), pixel intrinsics K (V, 3, 3)."""

    R: np.ndarray
    tvec: np.ndarray
    K: np.ndarray

    def resized(self, old: tuple[int, int], new: tuple[int, int]) -> _Pinhole:
        """The same cameras for the image resampled from ``old`` to ``new`` (H, W): pixel
        coordinates scale by W'/W along x and H'/H along y."""
        K = self.K.copy()
        K[:, 0] *= new[1] / old[1]
        K[:, 1] *= new[0] / old[0]
        return _Pinhole(self.R, self.tvec, K)

    def build(self, size: tuple[int, int], device: torch.device | str) -> PerspectiveCameras:
        def t(a):
            return torch.tensor(a, dtype=torch.float32, device=device)

        return cameras_from_opencv_projection(t(self.R), t(self.tvec), t(self.K), t([size]))


@dataclass
class _FoV:
    """FoVPerspectiveCameras: R (V, 3, 3), T (V, 3); fov (V,) in degrees, znear, zfar and
    aspect_ratio (V,)."""

    R: np.ndarray
    T: np.ndarray
    fov: np.ndarray
    znear: np.ndarray
    zfar: np.ndarray
    aspect_ratio: np.ndarray

    def resized(self, old: tuple[int, int], new: tuple[int, int]) -> _FoV:
        """The same cameras for the image resampled from ``old`` to ``new`` (H, W).

        A view point's pixel is u = W / 2 - s x_ndc, v = H / 2 - s y_ndc (s: half the shorter
        side); resampling scales u by sx = W'/W and v by sy = H'/H, so tan(fov / 2) scales by
        (s' / s) / sy and aspect_ratio by sy / sx (no change when the size scales exactly).
        """
        sy, sx = new[0] / old[0], new[1] / old[1]
        ratio = min(new) / min(old)
        tan = np.tan(np.deg2rad(self.fov) / 2) * ratio / sy
        return _FoV(self.R, self.T, np.rad2deg(2 * np.arctan(tan)), self.znear, self.zfar,
                    self.aspect_ratio * sy / sx)

    def build(self, size: tuple[int, int], device: torch.device | str) -> FoVPerspectiveCameras:
        def t(a):
            return torch.tensor(a, dtype=torch.float32, device=device)

        return FoVPerspectiveCameras(znear=t(self.znear), zfar=t(self.zfar),
                                     aspect_ratio=t(self.aspect_ratio), fov=t(self.fov),
                                     degrees=True, R=t(self.R), T=t(self.T), device=device)


Cameras = _Pinhole | _FoV


@dataclass
class _Frame:
    """One view's files before they are read; ``where`` names it in messages."""

    image: Path
    mask: Path | None
    depth: Path | None
    where: str


# ---- loading -----------------------------------------------------------------------------------


def load_views(
    folder: str | os.PathLike, image_size: int | None = None, device: torch.device | str = "cpu"
) -> ViewSet:
    """Reads a folder of views (see the module docstring for its files).

    Args:
        folder: holds ``cameras.json`` or ``transforms.json``.
        image_size: when given, every view is resampled to this height H' and the width that
            keeps its aspect, W' = round(W H' / H) (area averaging to shrink, bilinear to
            enlarge; depths: nearest), and the cameras are changed to match.
        device: where the tensors and cameras go.
    Returns:
        a :class:`ViewSet` of the folder's views in file order.
    Raises:
        FileFormatError naming the path: a missing folder, no camera file, JSON that does not
        parse (with its line), missing or unreadable images, masks and depths, images of
        different sizes, masks or depths of another size than their image.
        InputError naming the file and key: missing or bad keys, a transform that is not
        rigid, distortion, an image without a silhouette, a bad ``image_size``.
    """
    if image_size is not None and (isinstance(image_size, bool)
                                   or not isinstance(image_size, int) or image_size < 1):
        raise InputError(f"load_views: image_size must be a positive int or None, got "
                         f"{image_size!r}")
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileFormatError(folder, "no such folder of views")
    if not folder.is_dir():
        raise FileFormatError(folder, f"is a file; give the folder that holds {CAMERAS_FILE} or "
                                      f"{TRANSFORMS_FILE}")
    if (folder / CAMERAS_FILE).is_file():
        frames, make_cameras = _read_cameras_json(folder / CAMERAS_FILE)
    elif (folder / TRANSFORMS_FILE).is_file():
        frames, make_cameras = _read_transforms_json(folder / TRANSFORMS_FILE)
    else:
        raise FileFormatError(
            folder, f"no cameras: looked for {CAMERAS_FILE} (r3d) and {TRANSFORMS_FILE} "
                    "(instant-ngp / nerfstudio) and found neither"
        )
    images, masks, depths = _read_frames(folder, frames)
    size = (images.shape[1], images.shape[2])
    cameras = make_cameras(*size)
    if image_size is not None:
        new = (image_size, max(1, round(size[1] * image_size / size[0])))
        images, masks = _resample(images, new), _resample(masks[..., None], new)[..., 0]
        if depths is not None:
            depths = _resample(depths[..., None], new, mode="nearest")[..., 0]
        cameras, size = cameras.resized(size, new), new
    return ViewSet(
        images=images.to(device),
        masks=masks.to(device),
        cameras=cameras.build(size, device),
        names=[_name(folder, f.image) for f in frames],
        depths=None if depths is None else depths.to(device),
    )


def _name(folder: Path, path: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


def _resample(x: torch.Tensor, size: tuple[int, int], mode: str | None = None) -> torch.Tensor:
    """(V, H, W, C) images at ``size`` (H', W'): ``mode``, else area averaging to shrink and
    bilinear interpolation to enlarge."""
    if tuple(x.shape[1:3]) == size:
        return x
    if mode is None:
        mode = "area" if size[0] <= x.shape[1] else "bilinear"
    extra = {"align_corners": False} if mode == "bilinear" else {}
    out = F.interpolate(x.permute(0, 3, 1, 2), size=size, mode=mode, **extra)
    return out.permute(0, 2, 3, 1).contiguous()


def _read_json(path: Path) -> Node:
    """The top-level object of a JSON file as a Node (key paths for messages)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FileFormatError(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, f"cannot read: {exc}") from None
    node = Node(data, path)
    if not isinstance(data, dict):
        raise node.error("", "a JSON object at the top level")
    return node


def _frames(doc: Node, key: str) -> list[Node]:
    """The non-empty list of objects at ``key``."""
    if doc.value.get(key) == []:
        raise FileFormatError(doc.file, f"holds no views ({key} is empty)")
    nodes = doc.items(key)
    for node in nodes:
        if not isinstance(node.value, dict):
            raise node.error("", "an object")
    return nodes


def _relative_file(node: Node, key: str, what: str) -> Path:
    """The path at ``key`` (a non-empty string), resolved against the json's folder."""
    return node.file.parent / node.get(key, REQUIRED, _path_string, what)


def _path_string(value: Any) -> str:
    """A non-empty string; ValueError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value


def _where(node: Node) -> str:
    """A view's key path and file, for messages: "frames[2] in transforms.json"."""
    return f"{node.path} in {node.file.name}"


def _matrix(value: Any, rows: int, cols: int) -> np.ndarray:
    """A rows x cols list of lists of finite numbers as a float64 array; TypeError otherwise."""
    if not isinstance(value, list) or len(value) != rows:
        raise TypeError(value)
    return np.array([parse_vector(row, cols) for row in value], dtype=np.float64)


def _check_rotation(node: Node, key: str, R: np.ndarray) -> None:
    """InputError unless ``R`` (3, 3) is a rotation within :data:`RIGID_TOL`."""
    error = np.abs(R.T @ R - np.eye(3)).max()
    if error > RIGID_TOL:
        raise InputError(
            f"{node.file}: {node.key_path(key)} is not a rigid transform: its rotation is not "
            f"orthonormal within {RIGID_TOL:g} (max |R^T R - I| = {error:.3g}); scaled or "
            "sheared cameras are not supported"
        )
    if np.linalg.det(R) < 0:
        raise InputError(f"{node.file}: {node.key_path(key)} is not a rigid transform: its "
                         "rotation is a reflection (determinant -1)")


# ---- cameras.json ------------------------------------------------------------------------------


def _read_cameras_json(path: Path) -> tuple[list[_Frame], Callable[[int, int], Cameras]]:
    doc = _read_json(path)
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
    for node in _frames(doc, "views"):
        node.check_keys(_VIEW_KEYS[kind])
        optional = {
            key: _relative_file(node, key, "a file name") if node.has(key) else None
            for key in ("mask", "depth")
        }
        frames.append(_Frame(_relative_file(node, "file", "an image file name"),
                             optional["mask"], optional["depth"], _where(node)))
        rotation = node.get("R", REQUIRED, lambda v: _matrix(v, 3, 3),
                            "a 3x3 rotation matrix (a list of 3 rows of 3 numbers)")
        _check_rotation(node, "R", rotation)
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
            return _FoV(R_, T_, *p.T)
        # PyTorch3D's pose and pixel intrinsics to OpenCV, through the conversion's inverse
        screen = PerspectiveCameras(
            focal_length=torch.from_numpy(p[:, :2]), principal_point=torch.from_numpy(p[:, 2:]),
            R=torch.from_numpy(R_), T=torch.from_numpy(T_), in_ndc=False, image_size=[size],
        )
        R_cv, tvec, K = opencv_from_cameras_projection(screen)
        return _Pinhole(R_cv.numpy(), tvec.numpy(), K.numpy())

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


# ---- transforms.json ---------------------------------------------------------------------------

# OpenGL camera axes (x right, y up, looking along -z) to OpenCV's (x right, y down, along +z)
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def _read_transforms_json(path: Path) -> tuple[list[_Frame], Callable[[int, int], Cameras]]:
    doc = _read_json(path)
    frames, R, tvec, intrinsics = [], [], [], []
    for node in _frames(doc, "frames"):
        image = _relative_file(node, "file_path", "an image path")
        mask = _relative_file(node, "mask_path", "a mask path") if node.has("mask_path") \
            else None
        frames.append(_Frame(_with_extension(image, node), mask, None, _where(node)))
        c2w = node.get("transform_matrix", REQUIRED, lambda v: _matrix(v, 4, 4),
                       "a 4x4 camera-to-world matrix of finite numbers")
        last = np.abs(c2w[3] - [0.0, 0.0, 0.0, 1.0]).max()
        if last > RIGID_TOL:
            raise InputError(f"{path}: {node.key_path('transform_matrix')} is not a rigid "
                             f"transform: its last row is {c2w[3].tolist()}, not [0, 0, 0, 1]")
        _check_rotation(node, "transform_matrix", c2w[:3, :3])
        # world-to-camera of the OpenCV camera: R = (C F)^T with F flipping y and z, t = -R c
        rotation = (c2w[:3, :3] @ _GL_TO_CV).T
        R.append(rotation)
        tvec.append(-rotation @ c2w[:3, 3])
        intrinsics.append(_Intrinsics(doc, node))

    def make(height: int, width: int) -> Cameras:
        K = np.stack([i.matrix(frame.image, height, width)
                      for i, frame in zip(intrinsics, frames)])
        return _Pinhole(np.stack(R), np.stack(tvec), K)

    return frames, make


def _with_extension(image: Path, node: Node) -> Path:
    """``image``, or ``image`` + .png / .jpg when the path has no image extension and does not
    exist (NeRF-synthetic's "./train/r_0")."""
    if image.exists() or image.suffix.lower() in IMAGE_EXTENSIONS:
        return image
    for ext in IMPLIED_EXTENSIONS:
        candidate = image.with_name(image.name + ext)
        if candidate.is_file():
            return candidate
    tried = " and ".join(IMPLIED_EXTENSIONS)
    raise FileFormatError(image, f"no such file ({_where(node)}; also tried {tried})")


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


# ---- images, masks, depths ---------------------------------------------------------------------


def _read_frames(
    folder: Path, frames: list[_Frame]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Images (V, H, W, 3), masks (V, H, W) and depths (V, H, W) or None (when no view has a
    depth file; views without one get zeros when others have one), float32 on the CPU."""
    images, masks, depths = [], [], []
    first: tuple[Path, int, int] | None = None
    for frame in frames:
        rgb, alpha = _read_image(frame)
        h, w = rgb.shape[:2]
        if first is None:
            first = (frame.image, h, w)
        elif (h, w) != first[1:]:
            raise FileFormatError(
                folder, f"mismatched sizes: {_name(folder, first[0])} is {first[2]}x{first[1]}, "
                        f"{_name(folder, frame.image)} is {w}x{h}"
            )
        mask_file = frame.mask
        if mask_file is None and alpha is None:
            mask_file = _find_mask(folder, frame.image)
            if mask_file is None:
                raise InputError(f"{frame.image}: no silhouette: give RGBA images or "
                                 f"masks/{frame.image.stem}.png")
        if mask_file is not None:
            alpha = _read_mask(mask_file, frame)
            if alpha.shape != (h, w):
                raise FileFormatError(mask_file, f"the mask is {alpha.shape[1]}x{alpha.shape[0]}"
                                                 f" but its image {frame.image.name} is {w}x{h}")
        images.append(rgb)
        masks.append(alpha)
        depths.append(None if frame.depth is None else _read_depth(frame, (h, w)))
    depth = None
    if any(d is not None for d in depths):
        depth = torch.stack([torch.zeros_like(masks[0]) if d is None else d for d in depths])
    return torch.stack(images), torch.stack(masks), depth


def _existing(path: Path, frame: _Frame, what: str) -> Path:
    if not path.is_file():
        raise FileFormatError(path, f"no such {what} file (of {frame.where})")
    return path


def _read_image(frame: _Frame) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(H, W, 3) colours as stored and the (H, W) alpha channel (None when the image has
    none), float32 in [0, 1]."""
    path = _existing(frame.image, frame, "image")
    try:
        rgb = load_image(path)
        alpha = _alpha(path)
    except (OSError, ValueError, SyntaxError) as exc:
        raise FileFormatError(path, f"cannot read the image: {exc}") from None
    return rgb, alpha


def _alpha(path: Path) -> torch.Tensor | None:
    """The (H, W) alpha channel of an image file in [0, 1], or None when it has none."""
    with Image.open(path) as img:
        if not (img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info):
            return None
        band = img.convert("RGBA").getchannel("A")
        return torch.from_numpy(np.asarray(band, dtype=np.float32) / 255.0)


def _find_mask(folder: Path, image: Path) -> Path | None:
    """masks/<stem>.<image extension> beside the image, else in the views folder."""
    for masks in dict.fromkeys((image.parent / "masks", folder / "masks")):
        for ext in IMAGE_EXTENSIONS:
            for candidate in (masks / (image.stem + ext), masks / (image.stem + ext.upper())):
                if candidate.is_file():
                    return candidate
    return None


def _read_mask(path: Path, frame: _Frame) -> torch.Tensor:
    """A mask image's (H, W) values in [0, 1]: its alpha when not all opaque, else its first
    channel (grey)."""
    _existing(path, frame, "mask")
    try:
        alpha = _alpha(path)
        if alpha is not None and bool((alpha < 1).any()):
            return alpha
        return load_image(path)[..., 0].contiguous()
    except (OSError, ValueError, SyntaxError) as exc:
        raise FileFormatError(path, f"cannot read the mask: {exc}") from None


def _read_depth(frame: _Frame, size: tuple[int, int]) -> torch.Tensor:
    """An (H, W) float32 .npy of view-space depths >= 0 (0: background)."""
    path = _existing(frame.depth, frame, "depth")
    try:
        depth = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(path, f"cannot read the depth map (a .npy file): {exc}") from None
    if depth.shape != size or not (np.issubdtype(depth.dtype, np.floating)
                                   or np.issubdtype(depth.dtype, np.integer)):
        raise FileFormatError(path, f"the depth map must be a float array of shape {size} (the "
                                    f"image's H, W), got shape {depth.shape} and dtype "
                                    f"{depth.dtype}")
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise FileFormatError(path, "the depth map must hold finite depths >= 0 (0: background)")
    return torch.from_numpy(depth.astype(np.float32))


# ---- saving ------------------------------------------------------------------------------------


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


def write_cameras_json(
    path: str | os.PathLike,
    cameras: CamerasBase,
    image_size: Sequence[int],
    files: Sequence[str],
    masks: Sequence[str] | None = None,
    depths: Sequence[str] | None = None,
) -> Path:
    """Writes :func:`cameras_document` as JSON to ``path``, atomically; returns the path."""
    return _write_document(path, cameras_document(cameras, image_size, files, masks, depths))


def _write_document(path: str | os.PathLike, doc: dict) -> Path:
    """A cameras.json document written atomically, one line per view."""
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
    if not (isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[3] == 3
            and images.is_floating_point() and images.shape[0] > 0):
        raise InputError(f"{op}: images must be a float tensor of shape (V, H, W, 3) with V >= 1,"
                         f" got {describe(images)}")
    v, h, w = images.shape[:3]
    for name, value in (("masks", masks), ("depths", depths)):
        if value is None and name == "depths":
            continue
        if not (isinstance(value, torch.Tensor) and value.is_floating_point()
                and tuple(value.shape) == (v, h, w)):
            raise InputError(f"{op}: {name} must be a float tensor of shape {(v, h, w)} "
                             f"(V, H, W), got {describe(value)}")
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
    doc = cameras_document(cameras, (h, w), names, depths=depth_names)  # checks before writing
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, name in enumerate(names):
        rgba = np.concatenate([to_uint8(images[i]), to_uint8(masks[i])[..., None]], axis=-1)
        written.append(write_png(folder / name, rgba))
    for i, name in enumerate(depth_names or []):
        with atomic_open(folder / name, "wb") as handle:
            np.save(handle, depths[i].detach().float().cpu().numpy())
        written.append(folder / name)
    written.append(_write_document(folder / CAMERAS_FILE, doc))
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
