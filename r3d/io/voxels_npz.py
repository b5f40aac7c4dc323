"""Voxel grids as NumPy ``.npz`` archives.

Arrays (names as keys):

| key | shape | meaning |
|---|---|---|
| ``densities`` | (D, H, W) | required; indexed ``[z, y, x]`` (see :mod:`r3d.io.voxels`) |
| ``features`` | (C, D, H, W) | optional |
| ``translate`` | (3,) | optional, default 0: world x, y, z of the grid's minimum corner |
| ``scale`` | () or (3,) | optional: the grid's world extent along x, y, z |
| ``voxel_size`` | () or (3,) | optional, instead of ``scale``: one voxel's size (default 1) |

Values are bool, integer or floating, and finite. Archives are read without unpickling
(object arrays are refused), and each array's header is checked against the archive's size for
it before the array is read.
"""

from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_open
from r3d.io.utils import require_file
from r3d.io.voxels import VoxelGrid

__all__ = ["load_voxels_npz", "save_voxels_npz"]

_NDIM = {"densities": (3,), "features": (4,), "translate": (1,), "scale": (0, 1),
         "voxel_size": (0, 1)}
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
_NUMERIC = "biuf"  # numpy dtype kinds: bool, signed and unsigned integers, floats


def _check_member(path: str, archive: zipfile.ZipFile, key: str) -> None:
    """Checks the ``.npy`` header of array ``key``: a known name, the right number of
    dimensions, a numeric dtype and data the size its shape says (before reading it)."""
    if key not in _NDIM:
        raise FileFormatError(path, f"unknown array '{key}'; voxel archives hold "
                                    f"{', '.join(_NDIM)}")
    info = archive.getinfo(key + ".npy")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version not in _HEADER_READERS:
                raise ValueError(f".npy format version {version} is not supported")
            shape, _, dtype = _HEADER_READERS[version](member)
        except ValueError as exc:
            raise FileFormatError(path, f"array '{key}' has a bad header: {exc}") from None
        offset = member.tell()
    if dtype.kind not in _NUMERIC or dtype.hasobject:
        raise FileFormatError(path, f"array '{key}' has dtype {dtype}; expected bool, integer "
                                    f"or floating values")
    if len(shape) not in _NDIM[key]:
        dims = " or ".join(str(d) for d in _NDIM[key])
        raise FileFormatError(path, f"array '{key}' must have {dims} dimension(s), got shape "
                                    f"{shape}")
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != info.file_size - offset:
        raise FileFormatError(path, f"array '{key}': its header's shape {shape} does not match "
                                    f"the {info.file_size - offset} bytes stored")


def _read_arrays(path: str) -> dict[str, np.ndarray]:
    """The archive's arrays by name, each checked by :func:`_check_member` first."""
    if not zipfile.is_zipfile(path):
        raise FileFormatError(path, "not an .npz archive (not a zip file)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {}
            for key in npz.files:
                _check_member(path, npz.zip, key)
                arrays[key] = npz[key]
            return arrays
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(path, f"not a readable .npz archive: {exc}") from None


def _floats(path: str, arrays: dict, key: str) -> np.ndarray | None:
    if key not in arrays:
        return None
    with np.errstate(over="ignore"):  # values beyond float32 become infinite, refused below
        out = arrays[key].astype(np.float32)
    if not np.isfinite(out).all():
        raise FileFormatError(path, f"array '{key}' holds NaN or infinite values (or values too "
                                    f"large for float32)")
    return out


def load_voxels_npz(path: str | os.PathLike, device="cpu") -> VoxelGrid:
    """Reads a voxel grid from an ``.npz`` archive (see the module's notes for its arrays).

    Returns:
        VoxelGrid with float32 densities (D, H, W), features (C, D, H, W) or None, translate and
        scale (3,).
    Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file; FileFormatError
    naming the path for unreadable archives, pickled or non-numeric arrays, unknown or missing
    arrays, wrong shapes, ``scale`` together with ``voxel_size``, non-finite values and scales
    or voxel sizes that are not positive.
    """
    path = require_file(path)
    arrays = _read_arrays(path)
    if "densities" not in arrays:
        raise FileFormatError(path, f"no 'densities' array (found: "
                                    f"{', '.join(arrays) or 'none'})")
    if "scale" in arrays and "voxel_size" in arrays:
        raise FileFormatError(path, "give 'scale' or 'voxel_size', not both")
    dens = _floats(path, arrays, "densities")
    feats = _floats(path, arrays, "features")
    translate = _floats(path, arrays, "translate")
    scale = _floats(path, arrays, "scale")
    voxel_size = _floats(path, arrays, "voxel_size")
    if voxel_size is not None or scale is None:
        dims = np.array(dens.shape[::-1], dtype=np.float32)  # (W, H, D): x, y, z
        scale = (1.0 if voxel_size is None else voxel_size) * dims
    try:
        return VoxelGrid(
            torch.from_numpy(dens).to(device),
            0.0 if translate is None else torch.from_numpy(translate),
            torch.from_numpy(np.asarray(scale, dtype=np.float32)),
            None if feats is None else torch.from_numpy(feats).to(device),
        )
    except InputError as exc:
        raise FileFormatError(path, str(exc).removeprefix("VoxelGrid: ")) from None


def save_voxels_npz(path: str | os.PathLike, grid: VoxelGrid, compressed: bool = True) -> None:
    """Writes ``grid`` as an ``.npz`` archive (densities, features if any, translate, scale in
    float32), atomically.

    Args:
        compressed: zip-compress the arrays (``np.savez_compressed``).
    """
    if not isinstance(grid, VoxelGrid):
        raise InputError(f"save_voxels_npz: grid must be a VoxelGrid, got "
                         f"{type(grid).__name__}")
    arrays = {"densities": grid.densities, "translate": grid.translate, "scale": grid.scale}
    if grid.features is not None:
        arrays["features"] = grid.features
    arrays = {k: v.detach().cpu().to(torch.float32).numpy() for k, v in arrays.items()}
    save = np.savez_compressed if compressed else np.savez
    with atomic_open(path, "wb") as handle:
        save(handle, **arrays)
