"""Volumes: coordinates worked out by hand, agreement with PyTorch3D, gradients, errors, and the
conversions to meshes (volumes_to_meshes, cubify)."""

import pytest
import torch

from r3d.errors import InputError
from r3d.ops import cubify, volumes_to_meshes
from r3d.structures import Volumes

p3d = pytest.importorskip("pytorch3d.structures")


def rand_items(g, sizes, channels=2, dtype=torch.float32):
    return [torch.rand((channels,) + s, generator=g, dtype=dtype) for s in sizes]


SIZES = [(4, 5, 6), (3, 5, 2), (4, 2, 6), (2, 2, 2)]


# ---- coordinates by hand -------------------------------------------------------------------
@pytest.mark.parametrize("align", [True, False])
def test_single_voxel_sits_at_minus_translation(align):
    v = Volumes(torch.ones(1, 1, 1, 1, 1), voxel_size=2.0, volume_translation=(1.0, 2.0, 3.0),
                align_corners=align)
    assert v.get_coord_grid(world_coordinates=False).tolist() == [[[[[0.0, 0.0, 0.0]]]]]
    assert v.get_coord_grid().tolist() == [[[[[-1.0, -2.0, -3.0]]]]]
    # the scale along a one-voxel axis is voxel_size / 2 (PyTorch3D's is 0: singular)
    local = v.world_to_local_coords(torch.tensor([[[0.0, 0.0, 0.0]]]))
    assert local.tolist() == [[[1.0, 2.0, 3.0]]]


@pytest.mark.parametrize("align,local_xyz,world_xyz", [
    # (D, H, W) = (2, 3, 4), voxel_size 1: world = local * (n - 1) / 2
    (True, ([-1, -1 / 3, 1 / 3, 1], [-1, 0, 1], [-1, 1]),
     ([-1.5, -0.5, 0.5, 1.5], [-1, 0, 1], [-0.5, 0.5])),
    (False, ([-0.75, -0.25, 0.25, 0.75], [-2 / 3, 0, 2 / 3], [-0.5, 0.5]),
     ([-1.125, -0.375, 0.375, 1.125], [-2 / 3, 0, 2 / 3], [-0.25, 0.25])),
])
def test_2x3x4_grid_coordinates(align, local_xyz, world_xyz):
    dens = torch.arange(24.0).reshape(1, 1, 2, 3, 4)
    v = Volumes(dens, align_corners=align)
    for world, axes in ((False, local_xyz), (True, world_xyz)):
        grid = v.get_coord_grid(world_coordinates=world)
        assert grid.shape == (1, 2, 3, 4, 3)
        z, y, x = torch.meshgrid(*[torch.tensor(a, dtype=torch.float32) for a in axes[::-1]],
                                 indexing="ij")
        torch.testing.assert_close(grid[0], torch.stack([x, y, z], -1))
    # grid_sample at the local coordinates of the voxels reads the voxels back
    sampled = torch.nn.functional.grid_sample(
        dens, v.get_coord_grid(world_coordinates=False), align_corners=align
    )
    torch.testing.assert_close(sampled, dens)


def test_voxel_size_and_translation_per_item_and_axis():
    dens = torch.zeros(2, 1, 3, 3, 3)
    v = Volumes(dens, voxel_size=torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]),
                volume_translation=torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -2.0]]))
    grid = v.get_coord_grid()
    # voxel (d, h, w) centre: (w - 1, h - 1, d - 1) * voxel_size - translation
    torch.testing.assert_close(grid[0, 2, 0, 1], torch.tensor([0.0 - 1, -2.0, 3.0]))
    torch.testing.assert_close(grid[1, 0, 2, 2], torch.tensor([0.5, 0.5, -0.5 + 2]))
    m = v.get_local_to_world_coords_transform().get_matrix()
    torch.testing.assert_close(m[0].diagonal(), torch.tensor([1.0, 2.0, 3.0, 1.0]))
    torch.testing.assert_close(m[1, 3, :3], torch.tensor([0.0, 0.0, 2.0]))
    same = [Volumes(dens, voxel_size=s) for s in
            (0.5, (0.5, 0.5, 0.5), torch.tensor(0.5), torch.tensor([0.5]), torch.full((2, 1), 0.5))]
    for s in same:
        torch.testing.assert_close(s.get_coord_grid(), same[0].get_coord_grid())


@pytest.mark.parametrize("align", [True, False])
def test_world_local_round_trip(align):
    g = torch.Generator().manual_seed(1)
    v = Volumes(rand_items(g, SIZES), voxel_size=torch.rand(4, 3, generator=g) + 0.2,
                volume_translation=torch.randn(4, 3, generator=g), align_corners=align)
    world = torch.randn(4, 5, 7, 3, generator=g)
    local = v.world_to_local_coords(world)
    torch.testing.assert_close(v.local_to_world_coords(local), world)
    w2l = v.get_world_to_local_coords_transform()
    torch.testing.assert_close(w2l.transform_points(world.reshape(4, -1, 3)).reshape(world.shape),
                               local)


@pytest.mark.parametrize("align", [True, False])
def test_heterogeneous_items_have_their_own_grid_coordinates(align):
    g = torch.Generator().manual_seed(2)
    items = rand_items(g, SIZES)
    vs, t = torch.rand(4, 3, generator=g) + 0.2, torch.randn(4, 3, generator=g)
    v = Volumes(items, voxel_size=vs, volume_translation=t, align_corners=align)
    assert v.densities().shape == (4, 2, 4, 5, 6)
    assert v.get_grid_sizes().tolist() == [list(s) for s in SIZES]
    for world in (True, False):
        grid = v.get_coord_grid(world)
        for i, (d, h, w) in enumerate(SIZES):
            alone = Volumes(items[i][None], voxel_size=vs[i], volume_translation=t[i],
                            align_corners=align).get_coord_grid(world)
            torch.testing.assert_close(grid[i, :d, :h, :w], alone[0])
    for got, item in zip(v.densities_list(), items):
        assert torch.equal(got, item)
    assert v.features_list() is None
    feats = Volumes(items, [t[:1] for t in items]).features_list()
    assert [f.shape for f in feats] == [(1,) + s for s in SIZES]
    one = v[1]
    assert len(one) == 1 and one.get_grid_sizes().tolist() == [list(SIZES[1])]


# ---- agreement with PyTorch3D --------------------------------------------------------------
def pair(g, sizes, align=True, features=True):
    items = rand_items(g, sizes)
    feats = rand_items(g, sizes, channels=3) if features else None
    n = len(sizes)
    kw = dict(voxel_size=torch.rand(n, 3, generator=g) + 0.2,
              volume_translation=torch.randn(n, 3, generator=g), align_corners=align)
    return Volumes(items, feats, **kw), p3d.Volumes(items, feats, **kw)


def test_agrees_with_pytorch3d_on_heterogeneous_batches():
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        sizes = [tuple(int(s) for s in torch.randint(2, 7, (3,), generator=g)) for _ in range(4)]
        ours, theirs = pair(g, sizes)
        for world in (True, False):
            torch.testing.assert_close(ours.get_coord_grid(world), theirs.get_coord_grid(world))
        pts = torch.randn(4, 6, 3, generator=g)
        for fn in ("world_to_local_coords", "local_to_world_coords"):
            torch.testing.assert_close(getattr(ours, fn)(pts), getattr(theirs, fn)(pts))
        torch.testing.assert_close(ours.get_local_to_world_coords_transform().get_matrix(),
                                   theirs.get_local_to_world_coords_transform().get_matrix())
        assert torch.equal(ours.get_grid_sizes(), theirs.get_grid_sizes())
        assert torch.equal(ours.features(), theirs.features())
        for index in (2, slice(1, 3), [3, 0], torch.tensor([True, False, True, True]),
                      torch.tensor([1, 1, 0])):
            a, b = ours[index], theirs[index]
            assert len(a) == len(b)
            assert torch.equal(a.densities(), b.densities())
            assert torch.equal(a.features(), b.features())
            assert torch.equal(a.get_grid_sizes(), b.get_grid_sizes())
            torch.testing.assert_close(a.get_coord_grid(), b.get_coord_grid())


def test_agrees_with_pytorch3d_without_aligned_corners_and_on_update_padded():
    # PyTorch3D's unaligned coordinates and update_padded are right for equal grid sizes only
    g = torch.Generator().manual_seed(4)
    ours, theirs = pair(g, [(3, 4, 5)] * 3, align=False)
    for world in (True, False):
        torch.testing.assert_close(ours.get_coord_grid(world), theirs.get_coord_grid(world))
    dens, feats = torch.rand(3, 4, 3, 4, 5, generator=g), torch.rand(3, 1, 3, 4, 5, generator=g)
    a, b = ours.update_padded(dens, feats), theirs.update_padded(dens, feats)
    assert torch.equal(a.densities(), b.densities()) and torch.equal(a.features(), b.features())
    torch.testing.assert_close(a.get_coord_grid(), b.get_coord_grid())
    assert ours.update_padded(dens).features() is None


def test_update_padded_of_a_heterogeneous_batch_keeps_the_grids():
    g = torch.Generator().manual_seed(5)
    v = Volumes(rand_items(g, SIZES), voxel_size=0.3)
    new = v.update_padded(torch.zeros(4, 1, 4, 5, 6))
    assert new.get_grid_sizes().tolist() == v.get_grid_sizes().tolist()
    assert [t.shape[1:] for t in new.densities_list()] == [torch.Size(s) for s in SIZES]
    torch.testing.assert_close(new.get_coord_grid(), v.get_coord_grid())
    with pytest.raises(InputError, match="new_densities must be"):
        v.update_padded(torch.zeros(4, 1, 4, 5, 5))
    with pytest.raises(InputError, match="new_features must be"):
        v.update_padded(torch.zeros(4, 1, 4, 5, 6), [torch.zeros(1, 4, 5, 6)] * 4)


# ---- gradients, copies, empty batches ------------------------------------------------------
def test_gradients_reach_densities_features_and_placement():
    g = torch.Generator().manual_seed(6)
    items = [t.requires_grad_() for t in rand_items(g, SIZES[:3], dtype=torch.float64)]
    feats = torch.rand(3, 2, 4, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    vs = torch.rand(3, 3, generator=g, dtype=torch.float64).add(0.5).requires_grad_()
    t = torch.randn(3, dtype=torch.float64, requires_grad=True)
    v = Volumes(items, feats, voxel_size=vs, volume_translation=t)
    sub = v[[2, 0]].update_padded(v[[2, 0]].densities() * 2, v[[2, 0]].features())
    loss = sub.densities().sum() + sub.features().sum() + v.densities_list()[1].sum() \
        + v.get_coord_grid().sum()
    loss.backward()
    assert all(x.grad is not None for x in items) and feats.grad is not None
    assert torch.equal(items[1].grad, torch.ones_like(items[1]))
    assert torch.equal(items[0].grad, torch.full_like(items[0], 2.0))
    assert feats.grad[1].abs().sum() == 0 and feats.grad[0].abs().sum() > 0
    assert vs.grad is not None and t.grad is not None

    def w2l(points, voxel_size, translation):
        return Volumes(torch.zeros(2, 1, 3, 4, 5, dtype=torch.float64), voxel_size=voxel_size,
                       volume_translation=translation).world_to_local_coords(points)

    args = (torch.randn(2, 4, 3, dtype=torch.float64, generator=g, requires_grad=True),
            torch.rand(2, 3, dtype=torch.float64, generator=g).add(0.5).requires_grad_(),
            torch.randn(2, 3, dtype=torch.float64, generator=g, requires_grad=True))
    assert torch.autograd.gradcheck(w2l, args)


def test_clone_to_detach():
    g = torch.Generator().manual_seed(7)
    v = Volumes(rand_items(g, SIZES), rand_items(g, SIZES, 1), voxel_size=0.5)
    c = v.clone()
    assert c.densities() is not v.densities() and torch.equal(c.densities(), v.densities())
    assert c.densities().data_ptr() != v.densities().data_ptr()
    assert c.get_grid_sizes().tolist() == v.get_grid_sizes().tolist() and len(c) == 4
    assert v.to("cpu") is v and v.cpu() is v and v.to("cpu", copy=True) is not v
    assert v.device == torch.device("cpu") and not v.detach().densities().requires_grad
    assert v.get_align_corners() and not Volumes(v.densities(), align_corners=False) \
        .get_align_corners()


def test_empty_batch():
    v = Volumes(torch.zeros(0, 1, 2, 3, 4), voxel_size=torch.zeros(0, 3) + 1)
    assert len(v) == 0 and v.get_grid_sizes().shape == (0, 3)
    assert v.get_coord_grid().shape == (0, 2, 3, 4, 3)
    assert v.world_to_local_coords(torch.zeros(0, 5, 3)).shape == (0, 5, 3)
    assert v.densities_list() == [] and len(v[[]]) == 0
    assert len(volumes_to_meshes(v)) == 0


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(densities=torch.zeros(1, 2, 3, 4)), "densities must be a float tensor of shape"),
    (dict(densities=torch.zeros(1, 1, 2, 2, 2, dtype=torch.int64)), "densities must be a float"),
    (dict(densities=[]), "densities is an empty list"),
    (dict(densities=[torch.zeros(1, 2, 2, 2), torch.zeros(2, 2, 2, 2)]), r"densities\[1\] must "
     "have the channels"),
    (dict(densities=[torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2)]), r"densities\[1\] must be"),
    (dict(densities=[torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2, dtype=torch.float64)]),
     r"densities\[1\] must have the channels, dtype"),
    (dict(densities=[torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2, device="meta")]),
     r"densities\[1\] must have the channels, dtype and device"),
    (dict(densities=torch.zeros(1, 1, 0, 2, 2)), "grid sizes of at least 1"),
    (dict(densities="x"), "densities must be a tensor"),
    (dict(features=torch.zeros(2, 1, 2, 2, 3)), "features must be a tensor of shape"),
    (dict(features=[torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 1)]),
     "features must be a tensor of shape"),
    (dict(features=torch.zeros(2, 1, 2, 2, 2, device="meta")), "features must be on cpu"),
    (dict(voxel_size=0.0), "voxel_size must be positive"),
    (dict(voxel_size=(1.0, -1.0, 1.0)), "voxel_size must be positive"),
    (dict(voxel_size=float("nan")), "voxel_size"),
    (dict(voxel_size=(1.0, 1.0)), "voxel_size must be a number, 3 numbers"),
    (dict(voxel_size=torch.ones(3, 3)), "voxel_size must be .* with N = 2"),
    (dict(voxel_size=True), "voxel_size must be"),
    (dict(volume_translation=1.0), "volume_translation must be 3 numbers"),
    (dict(volume_translation=torch.ones(2, 1)), "volume_translation must be"),
    (dict(align_corners=1), "align_corners must be a bool"),
])
def test_bad_arguments(kwargs, match):
    args = dict(densities=torch.zeros(2, 1, 2, 2, 2))
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        Volumes(**args)


def test_bad_points_and_indices():
    v = Volumes(torch.zeros(2, 1, 2, 2, 2))
    for bad in (torch.zeros(3, 4, 3), torch.zeros(2, 4, 2), torch.zeros(2, 3, dtype=torch.int64),
                torch.zeros(2, 4, 3, device="meta")):
        with pytest.raises(InputError, match="points must be"):
            v.world_to_local_coords(bad)
    with pytest.raises(IndexError):
        v[2]
    with pytest.raises(IndexError):
        v[torch.tensor([True])]


# ---- volumes_to_meshes and cubify ----------------------------------------------------------
def sphere_sdf(n, radius):
    """(n, n, n) signed distance to a sphere of ``radius`` centred in a grid of spacing 0.1."""
    ax = torch.arange(n, dtype=torch.float64)
    z, y, x = torch.meshgrid(ax, ax, ax, indexing="ij")
    return ((torch.stack([x, y, z], -1) - (n - 1) / 2) * 0.1).norm(dim=-1) - radius


def signed_volume(verts, faces):
    a, b, c = verts[faces].unbind(1)
    return float((a * torch.cross(b, c, dim=1)).sum() / 6)


def test_volumes_to_meshes_lands_on_the_sphere_in_world_coordinates():
    sdf = sphere_sdf(20, 0.6)
    centre = torch.tensor([1.0, -2.0, -0.5], dtype=torch.float64)
    place = dict(voxel_size=0.1, volume_translation=-centre)
    v = Volumes([-sdf[None], -sdf[None, :12, :12, :12], torch.ones(1, 5, 5, 5).double()],
                **place)
    sdf_mesh = volumes_to_meshes(Volumes(sdf[None, None], **place), 0.0, inside="below")
    density_mesh = volumes_to_meshes(v, 0.0)
    verts, faces = sdf_mesh.verts_list()[0], sdf_mesh.faces_list()[0]
    assert verts.dtype == torch.float64 and len(faces) > 100
    assert ((verts - centre).norm(dim=1) - 0.6).abs().max() < 0.01
    assert signed_volume(verts - centre, faces) == pytest.approx(4 / 3 * torch.pi * 0.6 ** 3,
                                                                 rel=0.03)
    # -sdf as a density (inside above 0) gives the same surface, wound outwards too
    torch.testing.assert_close(density_mesh.verts_list()[0], verts)
    assert signed_volume(density_mesh.verts_list()[0] - centre, density_mesh.faces_list()[0]) > 0
    # the cropped item's own 12^3 grid is centred at `centre`, so the sphere's centre (voxel
    # 9.5 of the crop, whose centre is voxel 5.5) lies 0.4 further along each axis
    part = density_mesh.verts_list()[1]
    assert len(part) > 0 and ((part - centre - 0.4).norm(dim=1) - 0.6).abs().max() < 0.01
    assert len(density_mesh.verts_list()[2]) == 0 and len(density_mesh.faces_list()[2]) == 0
    with pytest.raises(InputError, match="inside must be one of"):
        volumes_to_meshes(v, 0.0, inside="out")
    with pytest.raises(InputError, match="volumes must be a Volumes"):
        volumes_to_meshes(sdf[None], 0.0)


@pytest.mark.parametrize("align,tensor_align", [(True, "center"), (False, "corner")])
def test_cubify_of_volumes_is_cubify_of_the_grid_placed_in_the_world(align, tensor_align):
    g = torch.Generator().manual_seed(8)
    items = rand_items(g, SIZES, channels=1)
    vs, t = torch.rand(4, 3, generator=g) + 0.2, torch.randn(4, 3, generator=g)
    v = Volumes(items, voxel_size=vs, volume_translation=t, align_corners=align)
    # a threshold of 0 occupies every voxel of each grid but none of the padding
    for thresh in (0.5, 0.0):
        meshes = cubify(v, thresh)
        for i, item in enumerate(items):
            alone = cubify(item, thresh, align=tensor_align)
            one = Volumes(item[None], voxel_size=vs[i], volume_translation=t[i],
                          align_corners=align)
            world = one.local_to_world_coords(alone.verts_padded())[0]
            torch.testing.assert_close(meshes.verts_list()[i], world)
            assert torch.equal(meshes.faces_list()[i], alone.faces_list()[0])
    with pytest.raises(InputError, match="align is set by the volumes"):
        cubify(v, 0.5, align="center")
    feats = torch.rand(4, 3, 4, 5, 6, generator=g)
    if align:
        assert len(cubify(v, 0.5, feats=feats).textures.atlas_list()) == 4
    else:
        with pytest.raises(InputError, match="feats are supported only"):
            cubify(v, 0.5, feats=feats)
