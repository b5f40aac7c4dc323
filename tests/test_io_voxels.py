"""Voxel grids: VoxelGrid, binvox and npz files, the IO registry and ``r3d info``."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.datasets import read_binvox
from r3d.errors import FileFormatError, InputError
from r3d.io import (
    IO,
    VoxelFormatInterpreter,
    VoxelGrid,
    load_binvox,
    load_voxels_npz,
    save_binvox,
    save_voxels_npz,
)
from r3d.structures import Volumes

HEADER = b"#binvox 1\ndim 2 2 2\ntranslate 0 0 0\nscale 1\ndata\n"


def _runs(*pairs: int) -> bytes:
    return bytes(pairs)


def _write(tmp_path, data: bytes, name: str = "g.binvox"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _random_grid(shape, occupancy: bool, features: int = 0, seed: int = 0) -> VoxelGrid:
    gen = torch.Generator().manual_seed(seed)
    dens = torch.rand(shape, generator=gen)
    if occupancy:
        dens = (dens > 0.6).float()
    feats = torch.rand((features, *shape), generator=gen) if features else None
    translate = torch.randn(3, generator=gen)
    scale = torch.rand(1, generator=gen).item() + 0.5
    return VoxelGrid(dens, translate, scale if occupancy else torch.rand(3, generator=gen) + 0.5,
                     feats)


# --- the data type ------------------------------------------------------------------------------

def test_voxel_grid_placement_and_axis_order():
    dens = torch.zeros(2, 3, 4)  # D=2 (z), H=3 (y), W=4 (x)
    grid = VoxelGrid(dens, translate=[1.0, 2.0, 3.0], scale=[4.0, 6.0, 8.0])
    assert grid.dims == (4, 3, 2)
    assert torch.equal(grid.voxel_size, torch.tensor([1.0, 2.0, 4.0]))
    assert torch.equal(grid.center, torch.tensor([3.0, 5.0, 7.0]))
    centers = grid.voxel_centers()
    assert centers.shape == (2, 3, 4, 3)
    assert torch.equal(centers[0, 0, 0], torch.tensor([1.5, 3.0, 5.0]))
    # the last index runs along x, the middle one along y, the first along z
    assert torch.equal(centers[1, 2, 3], torch.tensor([4.5, 7.0, 9.0]))
    assert torch.equal(centers[0, 0, 1] - centers[0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(centers[0, 1, 0] - centers[0, 0, 0], torch.tensor([0.0, 2.0, 0.0]))
    assert torch.equal(centers[1, 0, 0] - centers[0, 0, 0], torch.tensor([0.0, 0.0, 4.0]))
    # scalar placement is broadcast to x, y, z
    unit = VoxelGrid(torch.zeros(2, 2, 2))
    assert unit.translate.tolist() == [0.0] * 3 and unit.scale.tolist() == [1.0] * 3


@pytest.mark.parametrize("kwargs, match", [
    ({"densities": torch.zeros(2, 2, dtype=torch.float32)}, "densities must be a"),
    ({"densities": torch.zeros(2, 2, 2, dtype=torch.int64)}, "densities must be a"),
    ({"densities": torch.zeros(0, 2, 2)}, "at least one voxel"),
    ({"features": torch.zeros(1, 2, 2, 3)}, "features must be"),
    ({"scale": 0.0}, "scale must be positive"),
    ({"scale": [1.0, -1.0, 1.0]}, "scale must be positive"),
    ({"translate": [0.0, float("nan"), 0.0]}, "translate must be finite"),
    ({"translate": [0.0, 1.0]}, "3 numbers"),
    ({"translate": "left"}, "3 numbers"),
])
def test_voxel_grid_rejects_bad_arguments(kwargs, match):
    args = {"densities": torch.zeros(2, 2, 2), **kwargs}
    with pytest.raises(InputError, match=match):
        VoxelGrid(**args)


# --- VoxelGrid <-> Volumes -----------------------------------------------------------------------

def test_binvox_grid_to_volumes_has_the_grids_voxel_centres(tmp_path):
    """A binvox grid as Volumes: the same voxel centres (r3d's and PyTorch3D's Volumes), the
    same densities; and back to an equal grid."""
    pytorch3d = pytest.importorskip("pytorch3d.structures")

    dens = (torch.rand(4, 4, 4, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    save_binvox(tmp_path / "g.binvox", VoxelGrid(dens, translate=[-1, 0.5, 2], scale=3.0))
    grid = load_binvox(tmp_path / "g.binvox")
    volumes = grid.to_volumes()
    assert len(volumes) == 1 and volumes.features() is None
    assert torch.equal(volumes.densities()[0, 0], grid.densities)
    assert torch.allclose(volumes.get_coord_grid()[0], grid.voxel_centers(), atol=1e-6)
    theirs = pytorch3d.Volumes(grid.densities[None, None],
                                          voxel_size=grid.voxel_size[None],
                                          volume_translation=-grid.center[None])
    assert torch.allclose(theirs.get_coord_grid()[0], grid.voxel_centers(), atol=1e-6)
    back = VoxelGrid.from_volumes(volumes)
    assert torch.equal(back.densities, grid.densities)
    assert torch.allclose(back.translate, grid.translate, atol=1e-6)
    assert torch.allclose(back.scale, grid.scale, atol=1e-6)


def test_volumes_round_trip_keeps_features_and_picks_an_item():
    grids = [VoxelGrid(torch.rand(3, 4, 5), translate=[0.1, -0.2, 0.3], scale=[1.0, 2.0, 0.5],
                       features=torch.rand(2, 3, 4, 5)),
             VoxelGrid(torch.rand(1, 2, 1), translate=[1, 2, 3], scale=[0.5, 0.25, 2.0],
                       features=torch.rand(2, 1, 2, 1))]
    volumes = grids[0].to_volumes()
    assert torch.equal(volumes.features()[0], grids[0].features)
    batch = Volumes([g.densities[None] for g in grids], features=[g.features for g in grids],
                    voxel_size=torch.stack([g.voxel_size for g in grids]),
                    volume_translation=torch.stack([-g.center for g in grids]))
    for index in (0, 1, -1):
        want, got = grids[index], VoxelGrid.from_volumes(batch, index)
        assert torch.equal(got.densities, want.densities)
        assert torch.equal(got.features, want.features)
        assert torch.allclose(got.translate, want.translate, atol=1e-6)
        assert torch.allclose(got.scale, want.scale, atol=1e-6)
        assert torch.allclose(got.voxel_centers(), want.voxel_centers(), atol=1e-6)


def test_from_volumes_rejects_what_a_grid_cannot_hold():
    with pytest.raises(InputError, match="must be a Volumes"):
        VoxelGrid.from_volumes(torch.zeros(1, 1, 2, 2, 2))
    with pytest.raises(InputError, match="index must be an int"):
        VoxelGrid.from_volumes(Volumes(torch.zeros(1, 1, 2, 2, 2)), 1)
    with pytest.raises(InputError, match="align_corners=True"):
        VoxelGrid.from_volumes(Volumes(torch.zeros(1, 1, 2, 2, 2), align_corners=False))
    with pytest.raises(InputError, match="one density channel"):
        VoxelGrid.from_volumes(Volumes(torch.zeros(1, 2, 2, 2, 2)))


# --- binvox -------------------------------------------------------------------------------------

def test_binvox_hand_made_bytes_give_known_voxels(tmp_path):
    # dim 2: linear index x*4 + z*2 + y; only voxel x=1, y=0, z=1 (index 6) is set
    path = _write(tmp_path, b"#binvox 1\ndim 2 2 2\ntranslate -1 -2 -3\nscale 4\ndata\n"
                  + _runs(0, 6, 1, 1, 0, 1))
    grid = load_binvox(path)
    assert grid.densities.dtype == torch.float32 and grid.densities.shape == (2, 2, 2)
    assert torch.nonzero(grid.densities).tolist() == [[1, 0, 1]]  # [z, y, x]
    assert grid.translate.tolist() == [-1.0, -2.0, -3.0] and grid.scale.tolist() == [4.0] * 3
    assert grid.voxel_centers()[1, 0, 1].tolist() == [2.0, -1.0, 0.0]
    assert grid.features is None
    # R2N2's items keep [x, y, z] order
    assert torch.nonzero(read_binvox(path)).tolist() == [[1, 0, 1]]
    # CRLF header lines, fields in another order
    crlf = _write(tmp_path, b"#binvox 1\r\nscale 4\r\ndim 2 2 2\r\ndata\r\n"
                  + _runs(0, 6, 1, 1, 0, 1), "crlf.binvox")
    assert torch.equal(load_binvox(crlf).densities, grid.densities)


def test_binvox_plus_y_stays_up(tmp_path):
    # dim 3, the top layer (y = 2) set: for each (x, z) the y runs are 0, 0, 1
    path = _write(tmp_path, b"#binvox 1\ndim 3 3 3\ndata\n" + _runs(*[0, 2, 1, 1] * 9))
    grid = load_binvox(path)
    assert bool((grid.densities[:, 2, :] == 1).all())
    assert float(grid.densities.sum()) == 9
    occupied_y = grid.voxel_centers()[grid.densities > 0][:, 1]
    assert bool((occupied_y > 2 / 3).all())
    # translate and scale default to the unit cube
    assert grid.translate.tolist() == [0.0] * 3 and grid.scale.tolist() == [1.0] * 3


@pytest.mark.parametrize("size", [1, 2, 7, 32])
def test_binvox_round_trip(tmp_path, size):
    grid = _random_grid((size,) * 3, occupancy=True, seed=size)
    save_binvox(tmp_path / "g.binvox", grid)
    back = load_binvox(tmp_path / "g.binvox")
    assert torch.equal(back.densities, grid.densities)
    assert torch.equal(back.translate, grid.translate)
    assert torch.equal(back.scale, grid.scale)
    assert (tmp_path / "g.binvox").read_bytes().startswith(b"#binvox 1\n")


def test_binvox_long_runs_and_uniform_grids(tmp_path):
    for fill in (0.0, 1.0):
        grid = VoxelGrid(torch.full((20, 20, 20), fill))
        save_binvox(tmp_path / "u.binvox", grid)
        data = (tmp_path / "u.binvox").read_bytes()
        body = data[data.index(b"data\n") + 5:]
        assert len(body) == 2 * -(-8000 // 255)  # runs split at 255 voxels
        assert torch.equal(load_binvox(tmp_path / "u.binvox").densities, grid.densities)


def test_binvox_version_2_values_and_threshold(tmp_path):
    dens = torch.tensor([0.0, 1.0, 7.0, 255.0, 0.0, 3.0, 0.0, 0.0]).reshape(2, 2, 2)
    save_binvox(tmp_path / "v2.binvox", VoxelGrid(dens))
    assert (tmp_path / "v2.binvox").read_bytes().startswith(b"#binvox 2\n")
    assert torch.equal(load_binvox(tmp_path / "v2.binvox").densities, dens)
    soft = VoxelGrid(torch.tensor([0.1, 0.6, 0.5, 0.9, 0.0, 0.2, 0.7, 0.4]).reshape(2, 2, 2))
    with pytest.raises(InputError, match="threshold="):
        save_binvox(tmp_path / "soft.binvox", soft)
    assert not (tmp_path / "soft.binvox").exists()
    save_binvox(tmp_path / "soft.binvox", soft, threshold=0.5)
    assert torch.equal(load_binvox(tmp_path / "soft.binvox").densities,
                       (soft.densities > 0.5).float())


@pytest.mark.parametrize("grid, match", [
    (VoxelGrid(torch.zeros(2, 2, 3)), "cubic"),
    (VoxelGrid(torch.zeros(2, 2, 2), scale=[1.0, 2.0, 1.0]), "one scale"),
    (torch.zeros(2, 2, 2), "must be a VoxelGrid"),
])
def test_binvox_save_rejects_what_binvox_cannot_hold(tmp_path, grid, match):
    with pytest.raises(InputError, match=match):
        save_binvox(tmp_path / "g.binvox", grid)
    assert os.listdir(tmp_path) == []


RUNS_8 = _runs(0, 8)

MALFORMED_BINVOX = [
    (b"", "not a binvox file"),
    (b"#binvox 1", "ends before its 'data'"),
    (b"#binvix 1\ndim 2 2 2\ndata\n" + RUNS_8, "not a binvox file"),
    (b"#binvox 3\ndim 2 2 2\ndata\n" + RUNS_8, "unsupported binvox version"),
    (b"#binvox\ndim 2 2 2\ndata\n" + RUNS_8, "unsupported binvox version"),
    (b"#binvox 1\ntranslate 0 0 0\nscale 1\ndata\n" + RUNS_8, "no 'dim' line"),
    (b"#binvox 1\ndim 2 2 2\ndim 2 2 2\ndata\n" + RUNS_8, "duplicate 'dim'"),
    (b"#binvox 1\ndim 2 2 2\ncolour 1 0 0\ndata\n" + RUNS_8, "unknown binvox header line"),
    (b"#binvox 1\n\ndim 2 2 2\ndata\n" + RUNS_8, "an empty line"),
    (b"#binvox 1\ndim 2 2 2\n", "ends before its 'data'"),
    (b"#binvox 1\ndim 2 2\ndata\n" + RUNS_8, "'dim' needs 3"),
    (b"#binvox 1\ndim a b c\ndata\n" + RUNS_8, "non-number"),
    (b"#binvox 1\ndim 2.0 2 2\ndata\n" + RUNS_8, "non-number"),
    (b"#binvox 1\ndim 0 0 0\ndata\n", "three equal positive"),
    (b"#binvox 1\ndim -2 -2 -2\ndata\n" + RUNS_8, "three equal positive"),
    (b"#binvox 1\ndim 2 2 3\ndata\n" + _runs(0, 12), "cubic"),
    (b"#binvox 1\ndim 100000 100000 100000\ndata\n" + RUNS_8, "needs 1000000000000000 voxels"),
    (b"#binvox 1\ndim 2 2 2\ntranslate 0 x 0\ndata\n" + RUNS_8, "non-number"),
    (b"#binvox 1\ndim 2 2 2\nscale nan\ndata\n" + RUNS_8, "finite"),
    (b"#binvox 1\ndim 2 2 2\nscale 0\ndata\n" + RUNS_8, "scale must be positive"),
    (b"#binvox 1\ndim 2 2 2\nscale 1 2\ndata\n" + RUNS_8, "'scale' needs 1"),
    (HEADER, "truncated voxel data"),
    (HEADER + RUNS_8 + b"\x00", "not whole"),
    (HEADER + _runs(0, 5), "the runs cover 5 voxels"),
    (HEADER + _runs(0, 5, 1, 5), "run 1 overruns the grid"),
    (HEADER + _runs(0, 0, 0, 8), "run 0 has length 0"),
    (HEADER + _runs(0, 8, 1, 1), "2 bytes after the run holding the last voxel"),
    (HEADER + _runs(0, 4, 2, 4), "run 1 has value 2"),
]


@pytest.mark.parametrize("data, match", MALFORMED_BINVOX)
def test_malformed_binvox_raises_naming_the_path(tmp_path, data, match):
    path = _write(tmp_path, data, "bad.binvox")
    with pytest.raises(FileFormatError, match=match) as err:
        load_binvox(path)
    assert err.value.path == str(path) and str(path) in str(err.value)
    with pytest.raises(FileFormatError, match=match):
        IO().load_voxels(path)


def test_binvox_header_errors_give_the_line(tmp_path):
    path = _write(tmp_path, b"#binvox 1\ndim 2 2 2\nscale -1\ndata\n" + RUNS_8)
    with pytest.raises(FileFormatError) as err:
        load_binvox(path)
    assert err.value.line == 3 and f"{path}:3:" in str(err.value)


# --- npz ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, features, compressed", [
    ((3, 4, 5), 0, True),
    ((1, 6, 2), 3, False),
    ((4, 4, 4), 1, True),
])
def test_npz_round_trip(tmp_path, shape, features, compressed):
    grid = _random_grid(shape, occupancy=False, features=features, seed=sum(shape))
    save_voxels_npz(tmp_path / "g.npz", grid, compressed=compressed)
    back = load_voxels_npz(tmp_path / "g.npz")
    assert torch.equal(back.densities, grid.densities)
    assert torch.equal(back.translate, grid.translate)
    assert torch.equal(back.scale, grid.scale)
    if features:
        assert torch.equal(back.features, grid.features)
    else:
        assert back.features is None


def test_npz_minimal_and_voxel_size(tmp_path):
    dens = np.zeros((2, 3, 4), dtype=bool)
    dens[1, 2, 3] = True
    np.savez(tmp_path / "min.npz", densities=dens)
    grid = load_voxels_npz(tmp_path / "min.npz")
    assert grid.densities.dtype == torch.float32 and float(grid.densities[1, 2, 3]) == 1.0
    # no placement: 1-unit voxels from the origin
    assert grid.translate.tolist() == [0.0] * 3 and grid.scale.tolist() == [4.0, 3.0, 2.0]
    np.savez(tmp_path / "vs.npz", densities=dens.astype(np.uint8), voxel_size=np.float64(0.5),
             translate=np.array([1, 2, 3]))
    grid = load_voxels_npz(tmp_path / "vs.npz")
    assert grid.scale.tolist() == [2.0, 1.5, 1.0] and grid.translate.tolist() == [1.0, 2.0, 3.0]
    assert grid.voxel_size.tolist() == [0.5] * 3


def _npz(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _lying_npz(tmp_path):
    """An archive whose densities header claims 10^9 voxels but stores 8 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1000, 1000, 1000)})
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("densities.npy", header.getvalue() + bytes(8))
    return path


DENS = np.zeros((2, 2, 2), dtype=np.float32)
MALFORMED_NPZ = [
    (lambda p: _npz(p, translate=np.zeros(3)), "no 'densities' array"),
    (lambda p: _npz(p, densities=DENS, colour=np.zeros(3)), "unknown array 'colour'"),
    (lambda p: _npz(p, densities=np.zeros((2, 2))), "must have 3 dimension"),
    (lambda p: _npz(p, densities=DENS, features=DENS), "must have 4 dimension"),
    (lambda p: _npz(p, densities=DENS, features=np.zeros((1, 2, 2, 3))), "features must be"),
    (lambda p: _npz(p, densities=DENS.astype(np.complex64)), "dtype complex64"),
    (lambda p: _npz(p, densities=np.array([["a", "b"]] * 2).reshape(1, 2, 2)), "dtype <U1"),
    (lambda p: _npz(p, densities=np.array([None, [1]], dtype=object)), "dtype object"),
    (lambda p: _npz(p, densities=np.full((2, 2, 2), np.nan)), "NaN or infinite"),
    (lambda p: _npz(p, densities=np.full((2, 2, 2), 1e300)), "NaN or infinite"),
    (lambda p: _npz(p, densities=DENS, translate=np.array([0, np.inf, 0])), "NaN or infinite"),
    (lambda p: _npz(p, densities=DENS, translate=np.zeros(2)), "translate must be"),
    (lambda p: _npz(p, densities=DENS, scale=np.float32(-1)), "scale must be positive"),
    (lambda p: _npz(p, densities=DENS, scale=1.0, voxel_size=1.0), "not both"),
    (lambda p: _npz(p, densities=np.zeros((0, 2, 2))), "at least one voxel"),
    (_lying_npz, "does not match the 8 bytes"),
    (lambda p: _write(p, b"densities 1 2 3\n", "bad.npz"), "not a zip file"),
    (lambda p: _write(p, b"", "bad.npz"), "not a zip file"),
]


@pytest.mark.parametrize("make, match", MALFORMED_NPZ)
def test_malformed_npz_raises_naming_the_path(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(FileFormatError, match=match) as err:
        IO().load_voxels(path)
    assert err.value.path == str(path) and str(path) in str(err.value)


def test_npy_and_truncated_archives(tmp_path):
    np.save(tmp_path / "a.npy", DENS)
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    with pytest.raises(FileFormatError, match="not a zip file"):
        load_voxels_npz(tmp_path / "a.npz")
    good = _npz(tmp_path, densities=np.random.rand(8, 8, 8))
    data = good.read_bytes()
    cut = _write(tmp_path, data[:len(data) // 2], "cut.npz")
    with pytest.raises(FileFormatError, match="cut.npz"):
        load_voxels_npz(cut)


# --- registry, atomic writes, devices -----------------------------------------------------------

@pytest.mark.parametrize("ext", [".binvox", ".npz", ".BINVOX"])
def test_registry_round_trip_on_device(tmp_path, device, ext):
    grid = _random_grid((5, 5, 5), occupancy=True, seed=3).to(device)
    IO().save_voxels(grid, tmp_path / f"g{ext}")
    back = IO().load_voxels(tmp_path / f"g{ext}", device=device)
    assert back.densities.device.type == torch.device(device).type
    assert back.translate.device == back.densities.device
    assert torch.equal(back.densities.cpu(), grid.densities.cpu())
    assert ".binvox" in IO().voxel_extensions and ".npz" in IO().voxel_extensions


def test_registry_errors_and_custom_format(tmp_path):
    with pytest.raises(FileFormatError, match="unknown voxel file extension"):
        IO().load_voxels(_write(tmp_path, b"x", "g.vox"))
    with pytest.raises(FileNotFoundError):
        IO().load_voxels(tmp_path / "missing.binvox")
    with pytest.raises(InputError, match="VoxelFormatInterpreter"):
        IO().register_voxels_format(object())

    class ReadOnly(VoxelFormatInterpreter):
        extensions = (".vox",)

        def read(self, path, device, **kwargs):
            return VoxelGrid(torch.ones(1, 1, 1, device=device))

    io_ = IO()
    io_.register_voxels_format(ReadOnly())
    assert float(io_.load_voxels(tmp_path / "g.vox").densities) == 1.0
    with pytest.raises(FileFormatError, match="saving .vox voxel grids is not supported"):
        io_.save_voxels(VoxelGrid(torch.ones(1, 1, 1)), tmp_path / "out.vox")


def _no_space(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("ext, breaks", [
    (".binvox", "os.replace"),                 # the final rename fails
    (".npz", "os.replace"),
    (".npz", "numpy.savez_compressed"),        # writing fails half-way
])
def test_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, ext, breaks):
    path = tmp_path / f"g{ext}"
    with monkeypatch.context() as patch:
        patch.setattr(breaks, _no_space)
        with pytest.raises(FileFormatError, match="No space left") as err:
            IO().save_voxels(VoxelGrid(torch.ones(2, 2, 2)), path)
    assert err.value.path == str(path)
    assert os.listdir(tmp_path) == []
    IO().save_voxels(VoxelGrid(torch.ones(2, 2, 2)), path)
    old = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(breaks, _no_space)
        with pytest.raises(FileFormatError):
            IO().save_voxels(VoxelGrid(torch.zeros(2, 2, 2)), path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == [path.name]


# --- r3d info -----------------------------------------------------------------------------------

def test_info_reports_voxel_grids(tmp_path):
    dens = torch.zeros(4, 4, 4)
    dens[1:3, 1:3, 1:3] = 1.0
    save_binvox(tmp_path / "g.binvox", VoxelGrid(dens, translate=[-1.0, 0.0, 2.0], scale=2.0))
    save_voxels_npz(tmp_path / "g.npz", VoxelGrid(dens[:2] * 0.5, scale=[4.0, 4.0, 2.0],
                                                  features=torch.rand(3, 2, 4, 4)))
    runner = CliRunner()
    result = runner.invoke(app, ["info", str(tmp_path / "g.binvox"), str(tmp_path / "g.npz"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    binvox, npz = json.loads(result.output)
    assert binvox["kind"] == "voxels" and binvox["dims"] == [4, 4, 4]
    assert binvox["occupied"] == 8 and binvox["occupied_fraction"] == 8 / 64
    assert binvox["bounds"] == {"min": [-1.0, 0.0, 2.0], "max": [1.0, 2.0, 4.0]}
    assert binvox["values"] == [0.0, 1.0] and binvox["features"] == 0
    assert npz["dims"] == [4, 4, 2] and npz["occupied"] == 4 and npz["features"] == 3
    assert npz["values"] == [0.0, 0.5]
    table = runner.invoke(app, ["info", str(tmp_path / "g.binvox")])
    assert table.exit_code == 0
    assert "4 x 4 x 4 (x, y, z)" in table.output and "0.125" in table.output
    bad = _write(tmp_path, HEADER + _runs(0, 5), "bad.binvox")
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code != 0 and "the runs cover 5 voxels" in result.output
