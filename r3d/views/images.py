"""Reading a folder's image files: each view's image, its silhouette (mask file, alpha channel
or ``masks/<stem>.<ext>``) and its optional depth map, checked for matching sizes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from r3d.errors import FileFormatError, InputError, MissingFileError
from r3d.io.utils import load_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@dataclass
class ViewFiles:
    """One view's files before they are read; ``where`` names it in messages."""

    image: Path
    mask: Path | None
    depth: Path | None
    where: str


def view_name(folder: Path, path: Path) -> str:
    """``path`` relative to the views' ``folder`` (as written in messages and names), or its
    file name when it lies outside."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name



def read_frames(
    folder: Path, frames: list[ViewFiles]
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
                folder, f"mismatched sizes: {view_name(folder, first[0])} is "
                        f"{first[2]}x{first[1]}, {view_name(folder, frame.image)} is {w}x{h}"
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


def _existing(path: Path, frame: ViewFiles, what: str) -> Path:
    if not os.path.isfile(path):  # (False for names the system refuses, unlike Path.is_file)
        raise MissingFileError(path, f"no such {what} file (of {frame.where})")
    return path


def _read_image(frame: ViewFiles) -> tuple[torch.Tensor, torch.Tensor | None]:
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
                if os.path.isfile(candidate):
                    return candidate
    return None


def _read_mask(path: Path, frame: ViewFiles) -> torch.Tensor:
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


def _read_depth(frame: ViewFiles, size: tuple[int, int]) -> torch.Tensor:
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
