"""Image files of a render, each written atomically (temporary file, then rename).

Views are numbered from 000: ``view_000.png`` (the shaded image), ``depth_000.png`` (16-bit
grey: 0 is background, 1 the farthest surface of the view and 65535 the nearest; the summary
gives each view's depth range so values map back to view-space depth), ``normal_000.png``
(world-space unit normals as RGB = (n + 1) / 2, background black), ``silhouette_000.png``
(8-bit coverage). The turntable GIF loops forever.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from r3d.io import atomic_paths

__all__ = ["depth_to_uint16", "to_uint8", "write_gif", "write_png"]

DEPTH_LEVELS = 65534  # foreground depths map to 1 .. 65535


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """An (H, W) or (H, W, C) float image in [0, 1] as uint8 (clamped, rounded)."""
    return (image.detach().float().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).cpu().numpy()


def depth_to_uint16(zbuf: torch.Tensor) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A depth image (H, W) (negative where empty) as uint16, near bright, and its range.

    Returns the image and (nearest, farthest) depth of the view, None when it is empty.
    """
    z = zbuf.detach().double().cpu()
    mask = z >= 0
    if not mask.any():
        return np.zeros(tuple(z.shape), dtype=np.uint16), None
    near, far = float(z[mask].min()), float(z[mask].max())
    scale = DEPTH_LEVELS / (far - near) if far > near else 0.0
    levels = torch.where(mask, 1.0 + (far - z) * scale, torch.zeros_like(z))
    return levels.round().to(torch.int32).numpy().astype(np.uint16), (near, far)


def write_png(path: str | os.PathLike, pixels: np.ndarray) -> Path:
    """Writes an (H, W) uint8/uint16 or (H, W, 3|4) uint8 array as a PNG, atomically."""
    with atomic_paths(path) as (tmp,):
        Image.fromarray(pixels).save(tmp, format="PNG")
    return Path(path)


def write_gif(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Writes (H, W, 3) uint8 frames as a looping animated GIF at ``fps``, atomically."""
    images = [Image.fromarray(f) for f in frames]
    with atomic_paths(path) as (tmp,):
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, round(1000.0 / fps)), loop=0, disposal=2)
    return Path(path)
