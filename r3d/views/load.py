"""Loading a folder of views: :func:`load_views` picks cameras.json or transforms.json, reads
the images and optionally resamples them (and the cameras) to a given height."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from r3d.errors import FileFormatError, InputError, MissingFileError
from r3d.views.cameras_json import CAMERAS_FILE, read_cameras_json
from r3d.views.images import read_frames, view_name
from r3d.views.transforms_json import TRANSFORMS_FILE, read_transforms_json
from r3d.views.viewset import ViewSet


def load_views(
    folder: str | os.PathLike, image_size: int | None = None, device: torch.device | str = "cpu"
) -> ViewSet:
    """Reads a folder of views (see :mod:`r3d.views` for its files).

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
        raise MissingFileError(folder, "no such folder of views")
    if not folder.is_dir():
        raise FileFormatError(folder, f"is a file; give the folder that holds {CAMERAS_FILE} or "
                                      f"{TRANSFORMS_FILE}")
    if (folder / CAMERAS_FILE).is_file():
        frames, make_cameras = read_cameras_json(folder / CAMERAS_FILE)
    elif (folder / TRANSFORMS_FILE).is_file():
        frames, make_cameras = read_transforms_json(folder / TRANSFORMS_FILE)
    else:
        raise FileFormatError(
            folder, f"no cameras: looked for {CAMERAS_FILE} (r3d) and {TRANSFORMS_FILE} "
                    "(instant-ngp / nerfstudio) and found neither"
        )
    images, masks, depths = read_frames(folder, frames)
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
        names=[view_name(folder, f.image) for f in frames],
        depths=None if depths is None else depths.to(device),
    )


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
