"""The :class:`ViewSet` container: a folder's views (images, silhouettes, cameras, names,
optional depths) as tensors, with subsetting and device moves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import CamerasBase


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
        v = check_view_tensors(op, self.images, self.masks, self.depths)
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


def check_view_tensors(op: str, images, masks, depths) -> int:
    """Raises InputError unless ``images`` is a float (V, H, W, 3) tensor with V >= 1 and
    ``masks`` (and ``depths`` unless None) float (V, H, W) tensors; returns V."""
    if not (isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[3] == 3
            and images.is_floating_point() and images.shape[0] > 0):
        raise InputError(f"{op}: images must be a float tensor of shape (V, H, W, 3) with "
                         f"V >= 1, got {describe(images)}")
    v, h, w = images.shape[:3]
    for name, value in (("masks", masks), ("depths", depths)):
        if value is None and name == "depths":
            continue
        if not (isinstance(value, torch.Tensor) and value.is_floating_point()
                and tuple(value.shape) == (v, h, w)):
            raise InputError(f"{op}: {name} must be a float tensor of shape {(v, h, w)} "
                             f"(V, H, W) like the images, got {describe(value)}")
    return v
