from pathlib import Path

import pytest
import torch

from r3d._native import torch_only
from r3d.errors import InputError
from r3d.io import load_objs_as_meshes
from r3d.ops import voxelize_meshes
from r3d.ops.voxelize import voxelize_meshes_torch
from r3d.structures import Meshes
from r3d.utils import ico_sphere, torus

IMPLS = [voxelize_meshes, voxelize_meshes_torch]
COW = Path(__file__).parents[1] / "r3d" / "assets" / "cow" / "cow.obj"

CUBE_VERTS = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1],
              [0, 1, 1]]
# outward, each square split along a diagonal through a corner of the cube
CUBE_FACES = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [3, 7, 6],
              [3, 6, 2], [0, 4, 7], [0, 7, 3], [1, 2, 6], [1, 6, 5]]


def cube(dtype=torch.float32, device="cpu", flip=False):
    faces = torch.tensor(CUBE_FACES)
    return Meshes([torch.tensor(CUBE_VERTS, dtype=dtype, device=device)],
                  [(faces.flip(1) if flip else faces).to(device)])


def signed_volume(meshes, i=0):
    verts = meshes.verts_list()[i].double()
    a, b, c = verts[meshes.faces_list()[i]].unbind(1)
    return float((a * torch.cross(b, c, dim=1)).sum() / 6)


def occupied_volume(grids, i=0):
    return float(grids.occupancy[i].double().sum() * grids.voxel_size[i].double().prod())


def block(shape, first, last):
    """(D, H, W) zeros with ones in [first, last] along every axis."""
    out = torch.zeros(shape)
    out[first:last + 1, first:last + 1, first:last + 1] = 1
    return out


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_unit_cube_default_bounds(device, impl, dtype):
    """resolution 6: the box [-1/4, 5/4]^3 in voxels of 1/4; the 4^3 centres inside the cube."""
    grids = impl(cube(dtype, device), 6)
    assert grids.occupancy.shape == (1, 6, 6, 6) and grids.occupancy.dtype == dtype
    torch.testing.assert_close(grids.occupancy[0].cpu(), block((6, 6, 6), 1, 4).to(dtype))
    torch.testing.assert_close(grids.voxel_size.cpu(), torch.full((1, 3), 0.25, dtype=dtype))
    torch.testing.assert_close(grids.volume_translation.cpu(), torch.full((1, 3), -0.5,
                                                                           dtype=dtype))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("flip", [False, True])
def test_lines_through_vertices_edges_and_faces(device, impl, flip):
    """Voxel centres at multiples of 1/4 from -1/2: the columns' lines run through the cube's
    vertices, along its edges, through its faces' diagonals, and centres lie on its faces. The
    half-open rule keeps exactly the centres in [0, 1)^3, whatever the winding."""
    bounds = torch.tensor([[-0.625] * 3, [1.625] * 3])
    grids = impl(cube(device=device, flip=flip), 9, bounds.to(device))
    torch.testing.assert_close(grids.occupancy[0].cpu(), block((9, 9, 9), 2, 5))


@pytest.mark.parametrize("impl", IMPLS)
def test_rotated_and_translated_cubes(device, impl):
    """The cube turned about every axis (so its faces lie along the columns in turn), in a
    batch sharing one bounds box."""
    base = cube(device=device)
    perms = ([0, 1, 2], [1, 2, 0], [2, 0, 1])
    verts = [base.verts_packed()[:, p] + 0.25 for p in perms]
    meshes = Meshes(verts, [base.faces_packed()] * 3)
    grids = impl(meshes, (9, 9, 9), [[-0.375] * 3, [1.875] * 3])
    for n in range(3):
        torch.testing.assert_close(grids.occupancy[n].cpu(), block((9, 9, 9), 2, 5))


@pytest.mark.parametrize("impl", IMPLS)
def test_grid_places_voxels_as_pytorch3d_volumes(impl):
    """A Volumes built from the result (PyTorch3D's, or r3d's by to_volumes) puts the
    occupied voxels' centres inside the sphere."""
    volumes = pytest.importorskip("pytorch3d.structures").Volumes
    sphere = ico_sphere(4)
    sphere = sphere.offset_verts(torch.tensor([0.3, -0.2, 0.1]).expand(sphere.verts_packed().shape))
    grids = impl(sphere, (20, 24, 28))
    vol = volumes(densities=grids.occupancy[:, None], voxel_size=grids.voxel_size,
                  volume_translation=grids.volume_translation)
    centres = vol.get_coord_grid(world_coordinates=True)[0]  # (D, H, W, 3)
    ours = grids.to_volumes()
    torch.testing.assert_close(ours.get_coord_grid()[0], centres)
    torch.testing.assert_close(ours.densities(), grids.occupancy[:, None])
    radius = (centres - torch.tensor([0.3, -0.2, 0.1])).norm(dim=-1)
    clear = (radius - 1).abs() > 0.01  # farther from the sphere than the mesh's chords
    assert clear.sum() > 0.9 * clear.numel()
    torch.testing.assert_close(grids.occupancy[0][clear], (radius < 1)[clear].float())


@pytest.mark.parametrize("impl", IMPLS)
def test_volume_of_closed_meshes(impl):
    """At 128 voxels per side the occupied volume is within 1% of the mesh's signed volume."""
    cow = load_objs_as_meshes([COW])
    meshes = Meshes(
        verts=[ico_sphere(3).verts_packed(), torus(0.3, 1.0, 24, 48).verts_packed(),
               cow.verts_packed()],
        faces=[ico_sphere(3).faces_packed(), torus(0.3, 1.0, 24, 48).faces_packed(),
               cow.faces_packed()],
    )
    grids = impl(meshes, 128)
    for i in range(3):
        assert occupied_volume(grids, i) == pytest.approx(signed_volume(meshes, i), rel=0.01)


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_items_and_open_meshes(device, impl):
    """An empty mesh and a mesh without faces give empty grids; one triangle (an open mesh)
    fills the columns it covers above it (the parity rule; the column through its
    hypotenuse is not covered: the perturbation moves it out), the rest stays empty."""
    tri = torch.tensor([[0.0, 0.0, 0.5], [2.0, 0.0, 0.5], [0.0, 2.0, 0.5]], device=device)
    meshes = Meshes(
        verts=[tri.new_zeros((0, 3)), tri, tri],
        faces=[torch.zeros((0, 3), dtype=torch.int64, device=device),
               torch.zeros((0, 3), dtype=torch.int64, device=device),
               torch.tensor([[0, 1, 2]], device=device)],
    )
    grids = impl(meshes, (2, 2, 2), [[0.0, 0.0, 0.0], [2.0, 2.0, 1.0]])
    occupancy = grids.occupancy.cpu()
    assert occupancy[:2].sum() == 0
    expected = torch.zeros(2, 2, 2)
    expected[1, 0, 0] = 1  # centres (0.5, 0.5) and the upper layer, z = 0.75
    torch.testing.assert_close(occupancy[2], expected)
    assert impl(Meshes(verts=[], faces=[]), 4).occupancy.shape == (0, 4, 4, 4)


def random_meshes(seed, dtype, device):
    """Four meshes: bumpy spheres (closed), random triangle soups (open, self-crossing, faces
    of any size and orientation, some parallel to z) and an empty mesh."""
    g = torch.Generator().manual_seed(seed)
    sphere = ico_sphere(2)
    bumpy = sphere.verts_packed() * (1 + 0.2 * torch.rand(len(sphere.verts_packed()), 1,
                                                          generator=g))
    soup = torch.randn(30, 3, generator=g, dtype=torch.float64)
    soup_faces = torch.randint(0, 30, (40, 3), generator=g)
    soup[:5, :2] = soup[5:10, :2]  # edges along z: faces with no area in x, y
    soup_faces[:5] = torch.stack([torch.arange(5), torch.arange(5, 10), torch.arange(10, 15)], 1)
    verts = [bumpy, soup, soup.round(decimals=1), torch.zeros(0, 3)]
    faces = [sphere.faces_packed(), soup_faces, soup_faces, torch.zeros(0, 3, dtype=torch.int64)]
    return Meshes([v.to(dtype=dtype, device=device) for v in verts],
                  [f.to(device) for f in faces])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bounds", [None, [[-1.05] * 3, [1.45] * 3]])
def test_native_matches_torch(device, dtype, bounds):
    """Identical grids on heterogeneous batches: closed and open meshes, vertices snapped onto
    column lines (rounded soups at resolutions whose lines fall on multiples of 1/10), empty
    meshes; a grid box smaller than the meshes."""
    for seed, resolution in ((0, (9, 13, 11)), (1, 33), (2, (25, 25, 25))):
        meshes = random_meshes(seed, dtype, device)
        native = voxelize_meshes(meshes, resolution, bounds)
        with torch_only():
            twin = voxelize_meshes(meshes, resolution, bounds)
        for a, b in zip(native, twin, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert native.occupancy.sum() > 0


def test_half_precision_runs_in_float32():
    meshes = cube(torch.float16)
    grids = voxelize_meshes(meshes, 6)
    assert grids.occupancy.dtype == torch.float16
    torch.testing.assert_close(grids.occupancy[0].float(), block((6, 6, 6), 1, 4))


def test_batch_equals_items(device):
    meshes = random_meshes(3, torch.float32, device)
    batch = voxelize_meshes(meshes, 17)
    for i in range(len(meshes)):
        one = voxelize_meshes(meshes[i], 17)
        torch.testing.assert_close(one.occupancy[0], batch.occupancy[i], rtol=0, atol=0)


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_arguments(impl):
    meshes = cube()
    for resolution in (0, -3, 2.5, True, (4, 4), (4, 4, 0), "8"):
        with pytest.raises(InputError, match="resolution"):
            impl(meshes, resolution)
    with pytest.raises(InputError, match="at least 3"):
        impl(meshes, (2, 8, 8))
    with pytest.raises(InputError, match="meshes must be a Meshes"):
        impl(torch.zeros(3, 3), 8)
    for bounds in ([[0, 0, 0], [1, 1, 1]], torch.zeros(3, 2), torch.zeros(2, 2, 3), "box"):
        with pytest.raises(InputError, match="bounds"):
            impl(meshes, 8, bounds)
    with pytest.raises(InputError, match="maximum corner must exceed"):
        impl(meshes, 8, [[0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    with pytest.raises(InputError, match="bounds contains NaN"):
        impl(meshes, 8, [[0.0, 0.0, 0.0], [1.0, float("nan"), 1.0]])
    with pytest.raises(InputError, match="within 1048576 voxels"):
        impl(meshes, 8, [[0.0, 0.0, 0.0], [1e-7, 1e-7, 1e-7]])
    bad = Meshes([cube().verts_packed() * float("inf")], [cube().faces_packed()])
    with pytest.raises(InputError, match="verts contains NaN or infinite"):
        impl(bad, 8, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])


def test_native_op_checks_its_inputs():
    xy = torch.zeros(1, 3, 2, dtype=torch.int64)
    z, item = torch.zeros(1, 3), torch.zeros(1, dtype=torch.int64)
    op = torch.ops.r3d.voxelize_meshes
    with pytest.raises(InputError, match="face_item"):
        op(xy, z, item + 1, [1, 2, 2, 2])
    with pytest.raises(InputError, match="snapped coordinates"):
        op(xy + (1 << 29), z, item, [1, 2, 2, 2])
    with pytest.raises(InputError, match="z contains NaN"):
        op(xy, z + float("nan"), item, [1, 2, 2, 2])
    with pytest.raises(InputError, match="shape must be"):
        op(xy, z, item, [1, 0, 2, 2])
    with pytest.raises(InputError, match="xy must have shape"):
        op(xy[:, :2], z, item, [1, 2, 2, 2])
