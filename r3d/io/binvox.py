"""binvox voxel files (Patrick Min's format, used by ShapeNet and R2N2).

A text header, then the voxels run-length encoded::

    #binvox 1
    dim D D D
    translate tx ty tz        (optional, default 0 0 0)
    scale s                   (optional, default 1)
    data
    <value byte, count byte> pairs

The grid is cubic (D voxels along x, y and z). The runs list the voxels with y varying fastest,
then z, then x (linear index ``x * D * D + z * D + y``), each run covering 1 to 255 voxels.
Version 1 stores occupancy (values 0 or 1); version 2 allows values 0 to 255. The grid fills
the cube ``[translate, translate + scale]``. Reading gives a :class:`VoxelGrid` whose densities
are indexed ``[z, y, x]`` (the permutation keeps +Y up).
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError
from r3d.io.atomic import atomic_open
from r3d.io.utils import read_file_bytes
from r3d.io.voxels import VoxelGrid

__all__ = ["load_binvox", "save_binvox"]

_VERSIONS = (b"1", b"2")
_MAX_RUN = 255
_KEYWORDS = {b"dim": 3, b"translate": 3, b"scale": 1}  # numbers each header line holds


def _header(path: str, data: bytes) -> tuple[int, dict, int]:
    """The version, the header's fields (keyword -> (number tokens, line)) and where the runs
    start. Each keyword appears at most once, so the header has at most 5 lines."""
    if not data.startswith(b"#binvox"):
        raise FileFormatError(path, "not a binvox file (it does not start with '#binvox')", 1)
    pos, fields, version = 0, {}, 0
    for lineno in itertools.count(1):
        end = data.find(b"\n", pos)
        if end < 0:
            raise FileFormatError(path, "the header ends before its 'data' line", lineno)
        tokens = data[pos:end].split()
        pos = end + 1
        if lineno == 1:
            if len(tokens) != 2 or tokens[0] != b"#binvox" or tokens[1] not in _VERSIONS:
                raise FileFormatError(path, "unsupported binvox version: the first line must be "
                                            "'#binvox 1' (or '#binvox 2')", 1)
            version = int(tokens[1])
            continue
        if tokens == [b"data"]:
            return version, fields, pos
        if not tokens or tokens[0] not in _KEYWORDS:
            shown = tokens[0].decode("latin-1") if tokens else "an empty line"
            raise FileFormatError(path, f"unknown binvox header line ({shown}); expected dim, "
                                        f"translate, scale or data", lineno)
        key = tokens[0]
        if key in fields:
            raise FileFormatError(path, f"duplicate '{key.decode()}' line", lineno)
        if len(tokens) != _KEYWORDS[key] + 1:
            raise FileFormatError(path, f"'{key.decode()}' needs {_KEYWORDS[key]} number(s), "
                                        f"got {len(tokens) - 1}", lineno)
        fields[key] = [t.decode("latin-1") for t in tokens[1:]], lineno


def _numbers(path: str, fields: dict, key: bytes, kind, default):
    if key not in fields:
        return default
    tokens, lineno = fields[key]
    try:
        values = [kind(t) for t in tokens]
    except ValueError:
        raise FileFormatError(path, f"'{key.decode()}' holds a non-number: {' '.join(tokens)}",
                              lineno) from None
    if not all(math.isfinite(v) for v in values):
        raise FileFormatError(path, f"'{key.decode()}' must be finite, got {' '.join(tokens)}",
                              lineno)
    return values, lineno


def _decode_runs(path: str, body: bytes, size: int, version: int) -> np.ndarray:
    """The (size**3,) uint8 voxel values the runs encode, in file order; checks the runs."""
    count = size ** 3
    if len(body) % 2:
        raise FileFormatError(path, f"truncated voxel data: {len(body)} bytes after the header, "
                                    f"not whole (value, count) pairs")
    pairs = len(body) // 2
    if count > _MAX_RUN * pairs:  # checked before allocating anything the size of the grid
        raise FileFormatError(path, f"truncated voxel data: dim {size} needs {count} voxels, "
                                    f"the {pairs} runs in the file cover at most "
                                    f"{_MAX_RUN * pairs}")
    runs = np.frombuffer(body, dtype=np.uint8).reshape(pairs, 2)
    values, counts = runs[:, 0], runs[:, 1].astype(np.int64)
    zero = np.flatnonzero(counts == 0)
    if zero.size:
        raise FileFormatError(path, f"run {int(zero[0])} has length 0")
    if version == 1 and bool((values > 1).any()):
        bad = int(np.flatnonzero(values > 1)[0])
        raise FileFormatError(path, f"run {bad} has value {int(values[bad])}; version 1 "
                                    f"voxels are 0 or 1")
    ends = np.cumsum(counts)
    if int(ends[-1]) < count:
        raise FileFormatError(path, f"the runs cover {int(ends[-1])} voxels, dim {size} needs "
                                    f"{count}")
    last = int(np.searchsorted(ends, count))  # the run holding the last voxel
    if int(ends[last]) > count:
        raise FileFormatError(path, f"run {last} overruns the grid: the runs reach voxel "
                                    f"{int(ends[last])}, dim {size} has {count}")
    if last + 1 < pairs:
        raise FileFormatError(path, f"{2 * (pairs - last - 1)} bytes after the run holding the "
                                    f"last voxel")
    return np.repeat(values, counts)


def load_binvox(path: str | os.PathLike, device="cpu") -> VoxelGrid:
    """Reads a ``.binvox`` file.

    Returns:
        VoxelGrid with densities (D, D, D) float32 indexed ``[z, y, x]`` (the voxel values: 0/1
        for version 1), translate (3,) and scale (3,) from the header (default 0 and 1).
    Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file; FileFormatError
    naming the path (and header line) for a malformed file: a wrong first line, missing,
    duplicate or unknown header lines, non-numbers, dims that are not positive or not equal,
    runs of length 0, values above 1 in version 1, runs covering fewer or more voxels than the
    grid holds, bytes after the last run and truncated data.
    """
    path = os.fspath(path)
    data = read_file_bytes(path)
    version, fields, start = _header(path, data)
    if b"dim" not in fields:
        raise FileFormatError(path, "no 'dim' line in the header")
    dims, lineno = _numbers(path, fields, b"dim", int, None)
    if min(dims) < 1 or len(set(dims)) != 1:
        raise FileFormatError(path, f"dim must be three equal positive sizes (binvox grids are "
                                    f"cubic), got {dims}", lineno)
    translate, _ = _numbers(path, fields, b"translate", float, ([0.0, 0.0, 0.0], None))
    (scale,), lineno = _numbers(path, fields, b"scale", float, ([1.0], None))
    if scale <= 0:
        raise FileFormatError(path, f"scale must be positive, got {scale}", lineno)
    size = dims[0]
    flat = _decode_runs(path, data[start:], size, version)
    xzy = flat.reshape(size, size, size)  # file order: [x, z, y]
    zyx = np.ascontiguousarray(xzy.transpose(1, 2, 0))
    densities = torch.from_numpy(zyx).to(device=device, dtype=torch.float32)
    return VoxelGrid(densities, translate, scale)


def _voxel_bytes(grid: VoxelGrid, threshold: float | None) -> tuple[np.ndarray, int]:
    """The grid's (D, D, D) uint8 values indexed ``[z, y, x]`` and the binvox version they
    need (1 for occupancy, 2 for values up to 255)."""
    dens = grid.densities.detach().cpu()
    if threshold is not None:
        return (dens > threshold).numpy().astype(np.uint8), 1
    if not bool(((dens >= 0) & (dens <= _MAX_RUN) & (dens == dens.round())).all()):
        raise InputError("save_binvox: densities must be occupancies 0/1 (or whole numbers up "
                         "to 255); pass threshold= to store density > threshold as occupied")
    values = dens.numpy().astype(np.uint8)
    return values, 1 if int(values.max()) <= 1 else 2


def _encode_runs(flat: np.ndarray) -> bytes:
    """(value, count) byte pairs of ``flat`` (uint8), runs split at 255."""
    starts = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    pieces = (lengths + _MAX_RUN - 1) // _MAX_RUN
    counts = np.full(int(pieces.sum()), _MAX_RUN, dtype=np.int64)
    counts[np.cumsum(pieces) - 1] = lengths - _MAX_RUN * (pieces - 1)
    runs = np.stack([np.repeat(flat[starts], pieces), counts.astype(np.uint8)], axis=1)
    return runs.astype(np.uint8).tobytes()


def save_binvox(path: str | os.PathLike, grid: VoxelGrid, threshold: float | None = None) -> None:
    """Writes ``grid`` as a ``.binvox`` file, atomically.

    Args:
        path: the file.
        grid: a cubic VoxelGrid (D, D, D) with the same scale along x, y and z (binvox has one).
            Its features are not stored.
        threshold: None stores the densities as they are: they must be 0/1 (version 1) or whole
            numbers up to 255 (version 2). A number stores ``densities > threshold`` as
            occupied (version 1).

    Raises InputError for grids binvox cannot hold; FileFormatError naming the path when it
    cannot be written.
    """
    if not isinstance(grid, VoxelGrid):
        raise InputError(f"save_binvox: grid must be a VoxelGrid, got {type(grid).__name__}")
    depth, height, width = grid.densities.shape
    if not depth == height == width:
        raise InputError(f"save_binvox: binvox grids are cubic, got (D, H, W) = "
                         f"{tuple(grid.densities.shape)}")
    scale = grid.scale.tolist()
    if max(scale) != min(scale):
        raise InputError(f"save_binvox: binvox has one scale for x, y and z, got {scale}")
    zyx, version = _voxel_bytes(grid, threshold)
    body = _encode_runs(zyx.transpose(2, 0, 1).reshape(-1))  # file order: [x, z, y]
    translate = " ".join(format(v, ".9g") for v in grid.translate.tolist())
    header = (f"#binvox {version}\ndim {depth} {depth} {depth}\ntranslate {translate}\n"
              f"scale {format(scale[0], '.9g')}\ndata\n")
    with atomic_open(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(body)
