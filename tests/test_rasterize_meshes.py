"""rasterize_meshes: native kernel vs pure PyTorch, analytic checks, bins, gradients."""

import math

import pytest
import torch

from r3d._native import rasterize_meshes as bridge
from r3d.errors import InputError
from r3d.renderer import Fragments, RasterizationSettings
from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.structures.meshes import Meshes
from r3d.utils import ico_sphere


def random_scene(dtype=torch.float64, seed=0) -> Meshes:
    """Five meshes of different sizes in NDC (depth 0.5..3), one empty, one without faces."""
    g = torch.Generator().manual_seed(seed)
    verts, faces = [], []
    for nv, nf, scale in ((30, 40, 1.2), (8, 6, 0.7), (12, 25, 1.5), (0, 0, 1.0), (5, 0, 1.0)):
        v = (torch.rand(nv, 3, generator=g, dtype=torch.float64) * 2 - 1) * scale
        v[:, 2] = v[:, 2].abs() * 1.5 + 0.5
        verts.append(v.to(dtype))
        faces.append(torch.randint(0, max(nv, 1), (nf, 3), generator=g))
    return Meshes(verts, faces)


def pixel_centres(H: int, W: int):
    """NDC (x, y) of every pixel centre, (H, W) each: (0, 0) top-left, +x left, +y up."""
    m = min(H, W)
    x = (W - 2 * torch.arange(W, dtype=torch.float64) - 1) / m
    y = (H - 2 * torch.arange(H, dtype=torch.float64) - 1) / m
    return x[None, :].expand(H, W), y[:, None].expand(H, W)


def assert_same_fragments(a, b, max_mismatch=0.0, atol=1e-6):
    """pix_to_face equal (but for a fraction max_mismatch of the slots, ties and rounding),
    the other outputs close where it is."""
    same = a[0] == b[0]
    assert (~same).float().mean().item() <= max_mismatch
    for x, y in zip(a[1:], b[1:]):
        mask = same if x.dim() == same.dim() else same[..., None].expand_as(x)
        torch.testing.assert_close(x[mask], y[mask], atol=atol, rtol=1e-5)


CONFIGS = [
    dict(image_size=16, faces_per_pixel=1),
    dict(image_size=(12, 20), faces_per_pixel=5, blur_radius=0.01),
    dict(image_size=(20, 11), faces_per_pixel=4, blur_radius=0.02, perspective_correct=True,
         clip_barycentric_coords=True),
    dict(image_size=17, faces_per_pixel=3, cull_backfaces=True, bin_size=3),
    dict(image_size=(9, 13), faces_per_pixel=12, blur_radius=0.05, perspective_correct=True),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_matches_torch(config, dtype):
    meshes = random_scene(dtype, seed=len(str(config)))
    native = rasterize_meshes(meshes, **config)
    ref = rasterize_meshes_torch(meshes, **config)
    H, W = (config["image_size"],) * 2 if isinstance(config["image_size"], int) else (
        config["image_size"])
    K = config["faces_per_pixel"]
    assert native[0].shape == (5, H, W, K) and native[0].dtype == torch.int64
    assert native[2].shape == (5, H, W, K, 3) and native[1].dtype == dtype
    assert (native[0][3:] == -1).all()  # the empty mesh and the mesh without faces
    assert (native[0] >= 0).sum() > 50
    assert_same_fragments(native, ref, 0.0 if dtype == torch.float64 else 1e-3)


def test_sorted_by_depth_and_padded():
    meshes = random_scene(torch.float64)
    p2f, zbuf, bary, dists = rasterize_meshes(meshes, 24, 0.02, faces_per_pixel=6)
    empty = p2f < 0
    assert (zbuf[empty] == -1).all() and (dists[empty] == -1).all() and (bary[empty] == -1).all()
    # hits come first, then padding; depths ascend
    assert (empty[..., :-1] <= empty[..., 1:]).all()
    z = torch.where(empty, math.inf, zbuf)
    assert (z[..., :-1] <= z[..., 1:]).all()
    # faces belong to their own mesh
    first = meshes.mesh_to_faces_packed_first_idx()[:, None, None, None]
    last = first + meshes.num_faces_per_mesh()[:, None, None, None]
    assert (empty | ((p2f >= first) & (p2f < last))).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("size", [(6, 10), (10, 6), (8, 8)])
def test_large_triangle_barycentrics_give_pixel_centres(fn, size):
    H, W = size
    verts = torch.tensor([[-10.0, -10.0, 1.0], [10.0, -10.0, 2.0], [0.0, 12.0, 3.0]],
                         dtype=torch.float64)
    p2f, zbuf, bary, dists = fn(Meshes([verts], [torch.tensor([[0, 1, 2]])]), size,
                                faces_per_pixel=2)
    assert (p2f[..., 0] == 0).all() and (p2f[..., 1] == -1).all()
    xy = (bary[0, :, :, 0, :, None] * verts[None, None, :, :2]).sum(-2)
    px, py = pixel_centres(H, W)
    torch.testing.assert_close(xy[..., 0], px)
    torch.testing.assert_close(xy[..., 1], py)
    torch.testing.assert_close(zbuf[0, ..., 0], (bary[0, ..., 0, :] * verts[:, 2]).sum(-1))
    assert (dists[..., 0] < 0).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("perspective_correct", [False, True])
def test_plane_at_constant_depth(fn, perspective_correct):
    verts = torch.tensor([[-2.0, -2.0, 1.7], [2.0, -2.0, 1.7], [2.0, 2.0, 1.7], [-2.0, 2.0, 1.7]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    p2f, zbuf, _, _ = fn(Meshes([verts], [faces]), (16, 24), blur_radius=1e-3,
                         faces_per_pixel=3, perspective_correct=perspective_correct)
    assert (p2f[..., 0] >= 0).all()
    torch.testing.assert_close(zbuf[..., 0], torch.full((1, 16, 24), 1.7))
    hit = p2f >= 0
    torch.testing.assert_close(zbuf[hit], torch.full_like(zbuf[hit], 1.7))


def disc_fan(radius: float, segments: int, depth: float = 2.0) -> Meshes:
    # turned a little so that no spoke runs through pixel centres (a centre exactly on an edge
    # between two faces is strictly inside neither, and with blur 0 hits neither, as PyTorch3D)
    angle = torch.arange(segments, dtype=torch.float64) * 2 * math.pi / segments + 0.01
    rim = torch.stack([radius * angle.cos(), radius * angle.sin(),
                       torch.full_like(angle, depth)], 1)
    verts = torch.cat([torch.tensor([[0.0, 0.0, depth]], dtype=torch.float64), rim]).float()
    i = torch.arange(segments)
    faces = torch.stack([torch.zeros_like(i), 1 + i, 1 + (i + 1) % segments], 1)
    return Meshes([verts], [faces])


def test_disc_silhouette_area():
    size, r = 256, 0.6
    p2f, _, _, _ = rasterize_meshes(disc_fan(r, 256), size, faces_per_pixel=1)
    area = (p2f[..., 0] >= 0).sum().item() * (2 / size) ** 2
    assert area == pytest.approx(math.pi * r * r, rel=5e-3)


@pytest.mark.parametrize("bin_size", [1, 2, 5, None])
def test_tiny_bins_and_max_faces_per_bin_lose_nothing(bin_size):
    g = torch.Generator().manual_seed(4)
    # 300 faces stacked over the same small region: every bin there holds all of them
    verts = torch.rand(900, 3, generator=g) * torch.tensor([0.4, 0.4, 2.0]) + torch.tensor(
        [-0.2, -0.2, 0.5])
    meshes = Meshes([verts], [torch.arange(900).view(300, 3)])
    kw = dict(image_size=(20, 24), blur_radius=0.002, faces_per_pixel=40)
    naive = rasterize_meshes(meshes, bin_size=0, **kw)
    binned = rasterize_meshes(meshes, bin_size=bin_size, max_faces_per_bin=1, **kw)
    for a, b in zip(naive, binned):
        assert torch.equal(a, b)
    assert (naive[0][..., 39] >= 0).sum() > 10  # some pixels have more than 40 faces
    assert_same_fragments(naive, rasterize_meshes_torch(meshes, **kw), 1e-3)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_zero_area_faces_are_skipped(fn):
    verts = torch.tensor([[-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [0.0, 0.5, 1.0], [1.0, 1.0, 1.0]],
                         dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 0, 1], [0, 1, 3], [1, 1, 1], [0, 1, 2]])  # 0-2 degenerate
    verts_line = verts.detach().clone()
    verts_line[3] = torch.tensor([1.5, -0.5, 1.0], dtype=torch.float64)
    for v in (verts, verts_line.requires_grad_()):
        p2f, zbuf, bary, dists = fn(Meshes([v], [faces]), 12, blur_radius=0.05,
                                    faces_per_pixel=4)
        if v is verts_line:
            assert set(p2f.unique().tolist()) <= {-1, 3}
        assert (p2f != 0).all() and (p2f != 2).all()
        assert all(torch.isfinite(t).all() for t in (zbuf, bary, dists))
        (zbuf.sum() + bary.sum() + dists.sum()).backward()
        assert torch.isfinite(v.grad).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_faces_behind_the_camera_are_culled(fn):
    verts = torch.tensor([
        [-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [0.0, 0.5, 1.0],     # in front
        [-0.9, -0.9, -1.0], [0.9, -0.9, 2.0], [0.0, 0.9, 2.0],    # one corner behind
        [-0.9, -0.9, -1.0], [0.9, -0.9, -2.0], [0.0, 0.9, -0.5],  # all behind
        [-0.9, -0.9, 0.0], [0.9, -0.9, 1.0], [0.0, 0.9, 1.0],     # a corner on the camera plane
    ])
    p2f, _, _, _ = fn(Meshes([verts], [torch.arange(12).view(4, 3)]), 16, faces_per_pixel=4)
    assert set(p2f.unique().tolist()) == {-1, 0}


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_k_larger_than_hits(fn):
    verts = torch.tensor([[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0],
                          [-1.0, 1.0, 2.0], [1.0, 1.0, 2.0], [0.0, -1.0, 2.0]])
    p2f, zbuf, bary, dists = fn(Meshes([verts], [torch.tensor([[0, 1, 2], [3, 5, 4]])]), 10,
                                faces_per_pixel=7)
    assert (p2f[..., 2:] == -1).all() and (zbuf[..., 2:] == -1).all()
    assert (bary[..., 2:, :] == -1).all() and (dists[..., 2:] == -1).all()
    both = (p2f[..., 1] >= 0)
    assert both.any()
    assert (p2f[..., 0][both] == 0).all() and (p2f[..., 1][both] == 1).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_cull_backfaces_keeps_the_front_of_a_sphere(fn):
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * 0.7 + torch.tensor([0.0, 0.0, 2.0])
    meshes = Meshes([verts], [sphere.faces_packed()])
    every = fn(meshes, 32, faces_per_pixel=2)
    front = fn(meshes, 32, faces_per_pixel=2, cull_backfaces=True)
    assert torch.equal(every[0][..., 0], front[0][..., 0])
    assert (every[0][..., 1] >= 0).sum() > 100 and (front[0][..., 1] >= 0).sum() < 10


def test_all_meshes_empty_and_no_pixels_hit():
    meshes = Meshes([torch.zeros(0, 3), torch.rand(3, 3) + 5], [torch.zeros(0, 3).long(),
                                                                 torch.tensor([[0, 1, 2]])])
    for fn in (rasterize_meshes, rasterize_meshes_torch):
        p2f, zbuf, bary, dists = fn(meshes, (4, 5), faces_per_pixel=2)
        assert p2f.shape == (2, 4, 5, 2) and (p2f == -1).all() and (bary == -1).all()


def gradcheck_scene():
    g = torch.Generator().manual_seed(3)
    verts = torch.rand(8, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8
    verts[:, 2] = verts[:, 2] * 0.5 + 2
    return verts, torch.tensor([[0, 1, 2], [3, 4, 5], [2, 6, 7], [1, 5, 7]])


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("options", [
    dict(), dict(perspective_correct=True), dict(clip_barycentric_coords=True),
    dict(perspective_correct=True, clip_barycentric_coords=True),
])
def test_gradcheck_with_blur(fn, options):
    verts, faces = gradcheck_scene()

    def outputs(v):
        _, zbuf, bary, dists = fn(Meshes([v], [faces]), (7, 9), blur_radius=0.02,
                                  faces_per_pixel=3, **options)
        return zbuf, bary, dists

    assert torch.autograd.gradcheck(outputs, (verts.requires_grad_(),), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("perspective_correct", [False, True])
def test_native_backward_matches_torch(perspective_correct):
    meshes = random_scene(torch.float64, seed=7)
    kw = dict(image_size=(14, 18), blur_radius=0.01, faces_per_pixel=4,
              perspective_correct=perspective_correct, clip_barycentric_coords=True)
    grads = []
    weights = None
    for fn in (rasterize_meshes, rasterize_meshes_torch):
        verts = meshes.verts_packed().detach().clone().requires_grad_()
        m = Meshes(list(verts.split(meshes.num_verts_per_mesh().tolist())), meshes.faces_list())
        outs = fn(m, **kw)[1:]
        if weights is None:
            g = torch.Generator().manual_seed(1)
            weights = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outs]
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
        grads.append(verts.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_bad_arguments_name_the_argument():
    meshes = random_scene(torch.float32)
    with pytest.raises(InputError, match="image_size"):
        rasterize_meshes(meshes, image_size=(0, 4))
    with pytest.raises(InputError, match="faces_per_pixel"):
        rasterize_meshes(meshes, faces_per_pixel=0)
    with pytest.raises(InputError, match="blur_radius"):
        rasterize_meshes(meshes, blur_radius=-1.0)
    with pytest.raises(InputError, match="bin_size"):
        rasterize_meshes(meshes, bin_size=-2)
    with pytest.raises(InputError, match="max_faces_per_bin"):
        rasterize_meshes(meshes, max_faces_per_bin=0)
    with pytest.raises(InputError, match="meshes must be a Meshes"):
        rasterize_meshes(meshes.verts_packed())
    bad = Meshes([torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, math.nan], [0.0, 1.0, 1.0]])],
                 [torch.tensor([[0, 1, 2]])])
    with pytest.raises(InputError, match="NaN"):
        rasterize_meshes(bad)


def test_native_bridge_rejects_bad_ranges():
    face_verts = torch.rand(4, 3, 3)
    settings = (1, 4, 4, 2, 0.0, False, False, False)
    with pytest.raises(InputError, match="mesh_to_face_first_idx \\+ num_faces_per_mesh"):
        bridge.rasterize_meshes_forward(face_verts, torch.tensor([2]), torch.tensor([3]),
                                      settings, 0)
    with pytest.raises(InputError, match="pix_to_face has values"):
        bridge.rasterize_meshes_backward(
            face_verts, torch.full((1, 4, 4, 2), 4), torch.zeros(1, 4, 4, 2),
            torch.zeros(1, 4, 4, 2, 3), torch.zeros(1, 4, 4, 2), settings,
        )


def test_settings_and_fragments():
    s = RasterizationSettings()
    assert (s.image_size, s.blur_radius, s.faces_per_pixel, s.bin_size) == (256, 0.0, 1, None)
    verts = torch.tensor([[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0]],
                         requires_grad=True)
    frags = Fragments(*rasterize_meshes(Meshes([verts], [torch.tensor([[0, 1, 2]])]), 8))
    assert frags.zbuf.requires_grad and not frags.detach().zbuf.requires_grad
    p2f, zbuf, bary, dists = frags
    assert p2f is frags.pix_to_face and bary is frags.bary_coords and dists is frags.dists


def crossing_faces():
    """A face with one corner behind depth 0.5 and one with two behind."""
    verts = torch.tensor([[-0.9, -0.8, 0.2], [0.9, -0.7, 2.0], [0.1, 0.9, 1.5],
                          [-0.8, 0.8, 0.1], [0.8, 0.7, 0.3], [0.0, -0.9, 1.8]],
                         dtype=torch.float64)
    return verts, torch.tensor([[0, 1, 2], [3, 4, 5]])


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("face", [0, 1])
def test_z_clip_keeps_the_part_in_front(fn, face):
    verts, faces = crossing_faces()
    meshes = Meshes([verts], [faces[face:face + 1]])
    p2f, zbuf, bary, _ = fn(meshes, (20, 24), faces_per_pixel=2, z_clip_value=0.5)
    full = fn(meshes, (20, 24), faces_per_pixel=1)
    front = (full[0][..., 0] >= 0) & (full[1][..., 0] >= 0.5)
    hit = p2f[..., 0] >= 0
    assert torch.equal(hit, front) and hit.sum() > 50
    assert (p2f[..., 0][hit] == 0).all() and (p2f[..., 1] == -1).all()
    # fragments are reported in the original face: same barycentrics and depth
    torch.testing.assert_close(bary[..., 0, :][hit], full[2][..., 0, :][hit])
    torch.testing.assert_close(zbuf[..., 0][hit], full[1][..., 0][hit])


def test_z_clip_with_blur_native_matches_torch_without_duplicates():
    verts, faces = crossing_faces()
    scene = random_scene(torch.float64, seed=5)
    meshes = Meshes([verts, scene.verts_list()[0]], [faces, scene.faces_list()[0]])
    kw = dict(image_size=(18, 22), blur_radius=0.01, faces_per_pixel=4, z_clip_value=0.9)
    native = rasterize_meshes(meshes, **kw)
    assert_same_fragments(native, rasterize_meshes_torch(meshes, **kw))
    p2f = native[0]
    hits = p2f >= 0
    assert hits.any(-1).sum() > 100
    for j in range(1, 4):
        assert not ((p2f[..., :j] == p2f[..., j:j + 1]) & hits[..., j:j + 1]).any()


def test_z_clip_in_front_of_everything_changes_nothing():
    meshes = random_scene(torch.float64)
    kw = dict(image_size=16, blur_radius=0.01, faces_per_pixel=3)
    for a, b in zip(rasterize_meshes(meshes, **kw), rasterize_meshes(meshes, z_clip_value=0.1,
                                                                      **kw)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_gradcheck_with_z_clip(fn):
    verts, faces = crossing_faces()

    def outputs(v):
        return fn(Meshes([v], [faces]), (7, 9), blur_radius=0.02, faces_per_pixel=3,
                  z_clip_value=0.5)[1:]

    assert torch.autograd.gradcheck(outputs, (verts.requires_grad_(),), eps=1e-6, atol=1e-5)
