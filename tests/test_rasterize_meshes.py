"""rasterize_meshes: native kernel vs pure PyTorch, analytic checks, bins, gradients."""

import math

import pytest
import torch

from r3d._native import has_native
from r3d._native import rasterize_meshes as bridge
from r3d.errors import InputError
from r3d.renderer import Fragments, RasterizationSettings
from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.structures.meshes import Meshes
from r3d.utils import ico_sphere


def random_scene(dtype=torch.float64, seed=0, device="cpu") -> Meshes:
    """Five meshes of different sizes in NDC (depth 0.5..3), one empty, one without faces."""
    g = torch.Generator().manual_seed(seed)
    verts, faces = [], []
    for nv, nf, scale in ((30, 40, 1.2), (8, 6, 0.7), (12, 25, 1.5), (0, 0, 1.0), (5, 0, 1.0)):
        v = (torch.rand(nv, 3, generator=g, dtype=torch.float64) * 2 - 1) * scale
        v[:, 2] = v[:, 2].abs() * 1.5 + 0.5
        verts.append(v.to(dtype))
        faces.append(torch.randint(0, max(nv, 1), (nf, 3), generator=g))
    return Meshes(verts, faces).to(device)


def pixel_centres(H: int, W: int):
    """NDC (x, y) of every pixel centre, (H, W) each: (0, 0) top-left, +x left, +y up."""
    m = min(H, W)
    x = (W - 2 * torch.arange(W, dtype=torch.float64) - 1) / m
    y = (H - 2 * torch.arange(H, dtype=torch.float64) - 1) / m
    return x[None, :].expand(H, W), y[:, None].expand(H, W)


# Two rasterisations of one scene that differ only in floating-point rounding (the CUDA kernel
# against the CPU one, where nvcc contracts a * b + c into fused multiply-adds; or the native
# kernel against its PyTorch twin) may legitimately differ where rounding decides, and only there:
#  - a pixel centre within EDGE_TOL (NDC) of a face's boundary may be inside it or not: a hit whose
#    |dists| (squared distance) is below EDGE_TOL**2, or, with blur, within the band of
#    half-width EDGE_TOL around the blur radius, in either result;
#  - two hits whose depths differ by less than Z_TOL may come in either order, and where such a
#    tie straddles the K-th slot either face may be the one kept.
# assert_fragments_match compares the lists after sorting the faces of each near-tie run by face
# index (so an order swap within a tie is no difference) and then demands pix_to_face equal at
# every pixel, except at pixels that hold a near-edge hit or whose only differences are near-tie
# faces (same depth within Z_TOL); such excused pixels must be rare (at most MAX_EXCUSED of the
# pixels). zbuf, bary and dists must agree within atol + rtol * |ref| at every slot holding
# the same face in both, excused pixels included. The tolerances are far above what contraction
# changes (a few ulps, amplified by ill-conditioned perspective-corrected barycentrics near a
# face's horizon) and far below any real difference; float32 results computed from the same
# vertices in float64 (a much larger perturbation than FMA) pass them too
# (test_fragment_comparison_absorbs_rounding_only). Rounding excuses nothing else: in particular a
# face with a repeated corner has exactly zero area and must never hit a pixel, however the
# kernel was compiled (test_faces_with_a_repeated_corner_are_skipped).
ROUNDING = {  # EDGE_TOL, Z_TOL and the value tolerances, by dtype
    torch.float32: dict(edge_tol=1e-5, z_tol=1e-5, atol=1e-5, rtol=1e-4),
    torch.float64: dict(edge_tol=1e-9, z_tol=1e-11, atol=1e-10, rtol=1e-8),
}
MAX_EXCUSED = 0.01


def _tie_canonical(frags, z_tol):
    """The fragments with each pixel's runs of hits at depths within z_tol of the previous one
    sorted by face index (padding stays last)."""
    p2f, zbuf = frags[0], frags[1]
    hit = p2f >= 0
    new_run = torch.ones_like(hit)
    new_run[..., 1:] = ~hit[..., 1:] | ((zbuf[..., 1:] - zbuf[..., :-1]).abs() >= z_tol)
    run = new_run.long().cumsum(-1)
    key = run * (int(p2f.max()) + 2) + p2f + 1
    order = key.argsort(dim=-1, stable=True)
    return tuple(
        t.gather(-1, order) if t.dim() == p2f.dim()
        else t.gather(-2, order[..., None].expand_as(t))
        for t in frags
    )


def _near_edge_hits(frags, blur_radius, edge_tol):
    """(N, H, W) bool: pixels with a hit whose inside or blur test rounding may flip."""
    p2f, dists = frags[0], frags[3]
    d = dists.abs()
    near = d < edge_tol**2
    if blur_radius > 0:
        near |= (d - blur_radius).abs() < 2 * math.sqrt(blur_radius) * edge_tol + edge_tol**2
    return (near & (p2f >= 0)).any(-1)


def assert_fragments_match(got, ref, blur_radius=0.0):
    """got and ref (any devices) are the same rasterisation up to rounding (see above).

    Returns the (N, H, W) bool mask of the pixels whose lists are equal, slot for slot (to
    weight upstream gradients with when comparing backwards)."""
    tol = ROUNDING[ref[1].dtype]
    assert got[0].shape == ref[0].shape and got[1].dtype == ref[1].dtype
    equal = (got[0].cpu() == ref[0].cpu()).all(-1)
    got = _tie_canonical([t.detach().cpu() for t in got], tol["z_tol"])
    ref = _tie_canonical([t.detach().cpu() for t in ref], tol["z_tol"])
    same = got[0] == ref[0]
    both = (got[0] >= 0) & (ref[0] >= 0)
    tie = ~same & both & ((got[1] - ref[1]).abs() < tol["z_tol"])
    differ = ~same.all(-1)
    near_edge = (_near_edge_hits(got, blur_radius, tol["edge_tol"])
                 | _near_edge_hits(ref, blur_radius, tol["edge_tol"]))
    excused = differ & (near_edge | (same | tie).all(-1))
    unexplained = differ & ~excused
    assert not unexplained.any(), (
        f"{int(unexplained.sum())} pixels differ, first {unexplained.nonzero()[0].tolist()}: "
        f"{got[0][unexplained][0].tolist()} vs {ref[0][unexplained][0].tolist()}"
    )
    assert excused.float().mean().item() <= MAX_EXCUSED
    for x, y in zip(got[1:], ref[1:]):
        mask = same if x.dim() == same.dim() else same[..., None].expand_as(x)
        torch.testing.assert_close(x[mask], y[mask], atol=tol["atol"], rtol=tol["rtol"])
    return equal


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
def test_native_matches_torch(config, dtype, device):
    meshes = random_scene(dtype, seed=len(str(config)))
    native = rasterize_meshes(meshes.to(device), **config)
    ref = rasterize_meshes_torch(meshes, **config)  # the oracle, on the CPU
    H, W = (config["image_size"],) * 2 if isinstance(config["image_size"], int) else (
        config["image_size"])
    K = config["faces_per_pixel"]
    assert native[0].shape == (5, H, W, K) and native[0].dtype == torch.int64
    assert native[2].shape == (5, H, W, K, 3) and native[1].dtype == dtype
    assert all(t.device.type == device for t in native)
    assert (native[0][3:] == -1).all()  # the empty mesh and the mesh without faces
    assert (native[0] >= 0).sum() > 50
    assert_fragments_match(native, ref, config.get("blur_radius", 0.0))


def test_fragment_comparison_absorbs_rounding_only():
    """The comparison that the device tests rely on lets rounding through (float32 against the
    same vertices rasterised in float64, rounded: more than FMA contraction changes) and catches
    a face dropped from one pixel."""
    config = CONFIGS[4]
    meshes = random_scene(torch.float32, seed=11)
    got = rasterize_meshes(meshes, **config)
    m64 = Meshes([v.double() for v in meshes.verts_list()], meshes.faces_list())
    ref = [t if t.dtype == torch.int64 else t.float() for t in rasterize_meshes(m64, **config)]
    assert_fragments_match(got, ref, config["blur_radius"])
    # a face dropped from a pixel whose hits are well apart in depth
    p2f, zbuf = got[0], got[1]
    gaps = (zbuf[..., 1:3] - zbuf[..., 0:2]).amin(-1)
    clear = (p2f[..., 3] == -1) & (p2f[..., 2] >= 0) & (gaps > 0.01) & (got[3][..., :3].abs()
                                                                        > 1e-4).all(-1)
    n, y, x = clear.nonzero()[0].tolist()
    dropped = [t.clone() for t in got]
    for t in dropped:
        t[n, y, x, 1:-1] = t[n, y, x, 2:].clone()
        t[n, y, x, -1] = -1
    with pytest.raises(AssertionError, match="pixels differ"):
        assert_fragments_match(dropped, ref, config["blur_radius"])


def test_sorted_by_depth_and_padded(device):
    meshes = random_scene(torch.float64, device=device)
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
def test_large_triangle_barycentrics_give_pixel_centres(fn, size, device):
    H, W = size
    verts = torch.tensor([[-10.0, -10.0, 1.0], [10.0, -10.0, 2.0], [0.0, 12.0, 3.0]],
                         dtype=torch.float64, device=device)
    p2f, zbuf, bary, dists = fn(Meshes([verts], [torch.tensor([[0, 1, 2]], device=device)]),
                                size, faces_per_pixel=2)
    assert p2f.device.type == device
    assert (p2f[..., 0] == 0).all() and (p2f[..., 1] == -1).all()
    xy = (bary[0, :, :, 0, :, None] * verts[None, None, :, :2]).sum(-2).cpu()
    px, py = pixel_centres(H, W)
    torch.testing.assert_close(xy[..., 0], px)
    torch.testing.assert_close(xy[..., 1], py)
    torch.testing.assert_close(zbuf[0, ..., 0], (bary[0, ..., 0, :] * verts[:, 2]).sum(-1))
    assert (dists[..., 0] < 0).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("perspective_correct", [False, True])
def test_plane_at_constant_depth(fn, perspective_correct, device):
    verts = torch.tensor([[-2.0, -2.0, 1.7], [2.0, -2.0, 1.7], [2.0, 2.0, 1.7], [-2.0, 2.0, 1.7]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    p2f, zbuf, _, _ = fn(Meshes([verts], [faces]).to(device), (16, 24), blur_radius=1e-3,
                         faces_per_pixel=3, perspective_correct=perspective_correct)
    assert (p2f[..., 0] >= 0).all()
    torch.testing.assert_close(zbuf[..., 0], torch.full((1, 16, 24), 1.7, device=device))
    hit = p2f >= 0
    torch.testing.assert_close(zbuf[hit], torch.full_like(zbuf[hit], 1.7))


def disc_fan(radius: float, segments: int, depth: float = 2.0, device="cpu") -> Meshes:
    # turned a little so that no spoke runs through pixel centres (a centre exactly on an edge
    # between two faces is strictly inside neither, and with blur 0 hits neither, as PyTorch3D)
    angle = torch.arange(segments, dtype=torch.float64) * 2 * math.pi / segments + 0.01
    rim = torch.stack([radius * angle.cos(), radius * angle.sin(),
                       torch.full_like(angle, depth)], 1)
    verts = torch.cat([torch.tensor([[0.0, 0.0, depth]], dtype=torch.float64), rim]).float()
    i = torch.arange(segments)
    faces = torch.stack([torch.zeros_like(i), 1 + i, 1 + (i + 1) % segments], 1)
    return Meshes([verts], [faces]).to(device)


def test_disc_silhouette_area(device):
    size, r = 256, 0.6
    p2f, _, _, _ = rasterize_meshes(disc_fan(r, 256, device=device), size, faces_per_pixel=1)
    area = (p2f[..., 0] >= 0).sum().item() * (2 / size) ** 2
    assert area == pytest.approx(math.pi * r * r, rel=5e-3)


@pytest.mark.parametrize("bin_size", [1, 2, 5, None])
def test_tiny_bins_and_max_faces_per_bin_lose_nothing(bin_size, device):
    g = torch.Generator().manual_seed(4)
    # 300 faces stacked over the same small region: every bin there holds all of them
    verts = torch.rand(900, 3, generator=g) * torch.tensor([0.4, 0.4, 2.0]) + torch.tensor(
        [-0.2, -0.2, 0.5])
    meshes = Meshes([verts], [torch.arange(900).view(300, 3)])
    kw = dict(image_size=(20, 24), blur_radius=0.002, faces_per_pixel=40)
    naive = rasterize_meshes(meshes.to(device), bin_size=0, **kw)
    binned = rasterize_meshes(meshes.to(device), bin_size=bin_size, max_faces_per_bin=1, **kw)
    if device == "cpu":  # one launcher whatever the bins: bit for bit the same
        for a, b in zip(naive, binned):
            assert torch.equal(a, b)
    else:  # the naive and binned CUDA kernels may contract differently
        assert_fragments_match(binned, naive, kw["blur_radius"])
    assert (naive[0][..., 39] >= 0).sum() > 10  # some pixels have more than 40 faces
    assert_fragments_match(binned, rasterize_meshes_torch(meshes, **kw), kw["blur_radius"])


def float32_inside(face_verts: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """(F, H, W) bool: the pixels whose centre the native pair test, in float32 arithmetic,
    finds inside each face (F, 3, 3) float32: every edge function over the area > 0."""
    x, y = (c.to(torch.float32) for c in pixel_centres(H, W))
    v = face_verts[:, :, None, None, :]

    def edge(p, a, b):  # the kernel's edge_fn, one rounding per operation as in the kernel
        return (x - v[:, a, ..., 0]) * (v[:, b, ..., 1] - v[:, a, ..., 1]) - (
            y - v[:, a, ..., 1]) * (v[:, b, ..., 0] - v[:, a, ..., 0])

    a = face_verts
    area = ((a[:, 2, 0] - a[:, 0, 0]) * (a[:, 1, 1] - a[:, 0, 1])
            - (a[:, 2, 1] - a[:, 0, 1]) * (a[:, 1, 0] - a[:, 0, 0]))[:, None, None]
    return ((edge(0, 1, 2) / area > 0) & (edge(1, 2, 0) / area > 0)
            & (edge(2, 0, 1) / area > 0))


def test_face_boxes_hold_every_pixel_the_pair_test_finds_inside():
    # the native kernels test only the pixels of a face's box, widened by a bound on rounding
    # rather than a whole pixel: slivers (areas down to ~1e-7 of their box), faces far off the
    # image reaching in, and ordinary faces must still hit exactly the pixels whose centres the
    # float32 pair test finds inside
    g = torch.Generator().manual_seed(11)
    F, H, W = 600, 24, 31
    a = (torch.rand(F, 2, generator=g, dtype=torch.float64) * 2.4 - 1.2)
    d = torch.randn(F, 2, generator=g, dtype=torch.float64)
    d = d / d.norm(dim=1, keepdim=True) * (torch.rand(F, 1, generator=g) * 3 + 0.05)
    normal = torch.stack([-d[:, 1], d[:, 0]], 1) / d.norm(dim=1, keepdim=True)
    height = 10 ** (-torch.rand(F, 1, generator=g, dtype=torch.float64) * 6)  # 1 .. 1e-6
    t = torch.rand(F, 1, generator=g, dtype=torch.float64)
    corners = torch.stack([a, a + d, a + t * d + height * normal], 1)  # (F, 3, 2)
    far = torch.arange(F) % 7 == 0  # some faces from far off the image
    corners[far, 0] *= 40
    z = torch.rand(F, 3, 1, generator=g, dtype=torch.float64) + 1
    face_verts = torch.cat([corners, z], 2).to(torch.float32)
    meshes = Meshes(list(face_verts), [torch.arange(3).view(1, 3)] * F)
    expected = float32_inside(face_verts, H, W)
    assert expected.any((1, 2)).sum() > F // 4  # many faces hit some pixel
    for bin_size in (0, None, 4):
        p2f = rasterize_meshes(meshes, (H, W), faces_per_pixel=1, bin_size=bin_size)[0]
        assert torch.equal(p2f[..., 0] >= 0, expected)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_zero_area_faces_are_skipped(fn, device):
    verts = torch.tensor([[-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [0.0, 0.5, 1.0], [1.0, 1.0, 1.0]],
                         dtype=torch.float64, device=device, requires_grad=True)
    faces = torch.tensor([[0, 0, 1], [0, 1, 3], [1, 1, 1], [0, 1, 2]], device=device)  # 0-2 flat
    verts_line = verts.detach().clone()
    verts_line[3] = torch.tensor([1.5, -0.5, 1.0], dtype=torch.float64, device=device)
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
def test_faces_with_a_repeated_corner_are_skipped(fn, device):
    # corners i, j, j: the screen area (x_j - x_i)(y_j - y_i) - (y_j - y_i)(x_j - x_i) is exactly
    # 0 only if both products are rounded alike; contracted into a fused multiply-add (as nvcc
    # does by default) it is the rounding error of one product, which in float32 can pass the
    # degeneracy threshold and make a face of zero area hit pixels with huge barycentrics
    g = torch.Generator().manual_seed(6)
    verts = torch.rand(30, 3, generator=g) * torch.tensor([1.8, 1.8, 1.0]) + torch.tensor(
        [-0.9, -0.9, 1.0])
    i, j = torch.randint(0, 30, (2, 400), generator=g)
    i, j = i[i != j], j[i != j]
    faces = torch.cat([torch.stack([i, j, j], 1), torch.stack([j, i, j], 1),
                       torch.stack([j, j, i], 1)])
    p2f, zbuf, bary, dists = fn(Meshes([verts], [faces]).to(device), (24, 32),
                                blur_radius=0.01, faces_per_pixel=2)
    assert (p2f == -1).all() and (bary == -1).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_faces_behind_the_camera_are_culled(fn, device):
    verts = torch.tensor([
        [-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [0.0, 0.5, 1.0],     # in front
        [-0.9, -0.9, -1.0], [0.9, -0.9, 2.0], [0.0, 0.9, 2.0],    # one corner behind
        [-0.9, -0.9, -1.0], [0.9, -0.9, -2.0], [0.0, 0.9, -0.5],  # all behind
        [-0.9, -0.9, 0.0], [0.9, -0.9, 1.0], [0.0, 0.9, 1.0],     # a corner on the camera plane
    ])
    p2f, _, _, _ = fn(Meshes([verts], [torch.arange(12).view(4, 3)]).to(device), 16,
                      faces_per_pixel=4)
    assert set(p2f.unique().tolist()) == {-1, 0}


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_k_larger_than_hits(fn, device):
    verts = torch.tensor([[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 1.0, 1.0],
                          [-1.0, 1.0, 2.0], [1.0, 1.0, 2.0], [0.0, -1.0, 2.0]])
    p2f, zbuf, bary, dists = fn(Meshes([verts], [torch.tensor([[0, 1, 2], [3, 5, 4]])]).to(device),
                                10, faces_per_pixel=7)
    assert (p2f[..., 2:] == -1).all() and (zbuf[..., 2:] == -1).all()
    assert (bary[..., 2:, :] == -1).all() and (dists[..., 2:] == -1).all()
    both = (p2f[..., 1] >= 0)
    assert both.any()
    assert (p2f[..., 0][both] == 0).all() and (p2f[..., 1][both] == 1).all()


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_cull_backfaces_keeps_the_front_of_a_sphere(fn, device):
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * 0.7 + torch.tensor([0.0, 0.0, 2.0])
    meshes = Meshes([verts], [sphere.faces_packed()]).to(device)
    every = fn(meshes, 32, faces_per_pixel=2)
    front = fn(meshes, 32, faces_per_pixel=2, cull_backfaces=True)
    assert torch.equal(every[0][..., 0], front[0][..., 0])
    assert (every[0][..., 1] >= 0).sum() > 100 and (front[0][..., 1] >= 0).sum() < 10


def test_all_meshes_empty_and_no_pixels_hit(device):
    meshes = Meshes([torch.zeros(0, 3), torch.rand(3, 3) + 5], [torch.zeros(0, 3).long(),
                                                                 torch.tensor([[0, 1, 2]])])
    meshes = meshes.to(device)
    for fn in (rasterize_meshes, rasterize_meshes_torch):
        p2f, zbuf, bary, dists = fn(meshes, (4, 5), faces_per_pixel=2)
        assert p2f.shape == (2, 4, 5, 2) and (p2f == -1).all() and (bary == -1).all()


def gradcheck_scene(device="cpu"):
    g = torch.Generator().manual_seed(3)
    verts = torch.rand(8, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8
    verts[:, 2] = verts[:, 2] * 0.5 + 2
    faces = torch.tensor([[0, 1, 2], [3, 4, 5], [2, 6, 7], [1, 5, 7]])
    return verts.to(device), faces.to(device)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("options", [
    dict(), dict(perspective_correct=True), dict(clip_barycentric_coords=True),
    dict(perspective_correct=True, clip_barycentric_coords=True),
])
def test_gradcheck_with_blur(fn, options, device):
    verts, faces = gradcheck_scene(device)

    def outputs(v):
        _, zbuf, bary, dists = fn(Meshes([v], [faces]), (7, 9), blur_radius=0.02,
                                  faces_per_pixel=3, **options)
        return zbuf, bary, dists

    assert torch.autograd.gradcheck(outputs, (verts.requires_grad_(),), eps=1e-6, atol=1e-5)


def with_grad_verts(meshes: Meshes, device) -> tuple[Meshes, torch.Tensor]:
    """A copy of meshes on device whose packed verts (returned) require grad."""
    verts = meshes.verts_packed().detach().to(device).requires_grad_()
    faces = [f.to(device) for f in meshes.faces_list()]
    return Meshes(list(verts.split(meshes.num_verts_per_mesh().tolist())), faces), verts


def weighted_sum(frags, equal_pixels, seed=1):
    """sum(w * out) over zbuf, bary and dists with fixed random weights (made on the CPU), zero
    at the pixels outside equal_pixels (where the two compared runs hold different faces)."""
    g = torch.Generator().manual_seed(seed)
    total = 0
    for out in frags[1:]:
        w = torch.randn(out.shape, generator=g, dtype=out.dtype)
        mask = equal_pixels.reshape(equal_pixels.shape + (1,) * (out.dim() - 3))
        total = total + (out * (w * mask).to(out.device)).sum()
    return total


@pytest.mark.parametrize("perspective_correct", [False, True])
def test_native_backward_matches_torch(perspective_correct, device):
    meshes = random_scene(torch.float64, seed=7)
    kw = dict(image_size=(14, 18), blur_radius=0.01, faces_per_pixel=4,
              perspective_correct=perspective_correct, clip_barycentric_coords=True)
    m_native, v_native = with_grad_verts(meshes, device)
    m_torch, v_torch = with_grad_verts(meshes, "cpu")
    native = rasterize_meshes(m_native, **kw)
    ref = rasterize_meshes_torch(m_torch, **kw)
    equal = assert_fragments_match(native, ref, kw["blur_radius"])
    weighted_sum(native, equal).backward()
    weighted_sum(ref, equal).backward()
    assert v_native.grad.device.type == device and v_torch.grad.abs().sum() > 0
    torch.testing.assert_close(v_native.grad.cpu(), v_torch.grad)


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
        rasterize_meshes(meshes, max_faces_per_bin=-1)
    with pytest.raises(InputError, match="meshes must be a Meshes"):
        rasterize_meshes(meshes.verts_packed())
    bad = Meshes([torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, math.nan], [0.0, 1.0, 1.0]])],
                 [torch.tensor([[0, 1, 2]])])
    with pytest.raises(InputError, match="NaN"):
        rasterize_meshes(bad)


def test_native_bridge_rejects_bad_ranges(device):
    # checked before any launch: a kernel must never read out of bounds, on either device
    face_verts = torch.rand(4, 3, 3, device=device)
    settings = (1, 4, 4, 2, 0.0, False, False, False)
    idx = dict(dtype=torch.int64, device=device)
    with pytest.raises(InputError, match="mesh_to_face_first_idx \\+ num_faces_per_mesh"):
        bridge.rasterize_meshes_forward(face_verts, torch.tensor([2], **idx),
                                      torch.tensor([3], **idx), settings, 0)
    zeros = dict(dtype=torch.float32, device=device)
    with pytest.raises(InputError, match="pix_to_face has values"):
        bridge.rasterize_meshes_backward(
            face_verts, torch.full((1, 4, 4, 2), 4, **idx), torch.zeros(1, 4, 4, 2, **zeros),
            torch.zeros(1, 4, 4, 2, 3, **zeros), torch.zeros(1, 4, 4, 2, **zeros), settings,
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


def crossing_faces(device="cpu"):
    """A face with one corner behind depth 0.5 and one with two behind."""
    verts = torch.tensor([[-0.9, -0.8, 0.2], [0.9, -0.7, 2.0], [0.1, 0.9, 1.5],
                          [-0.8, 0.8, 0.1], [0.8, 0.7, 0.3], [0.0, -0.9, 1.8]],
                         dtype=torch.float64, device=device)
    return verts, torch.tensor([[0, 1, 2], [3, 4, 5]], device=device)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
@pytest.mark.parametrize("face", [0, 1])
def test_z_clip_keeps_the_part_in_front(fn, face, device):
    verts, faces = crossing_faces(device)
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


def test_z_clip_with_blur_native_matches_torch_without_duplicates(device):
    verts, faces = crossing_faces()
    scene = random_scene(torch.float64, seed=5)
    meshes = Meshes([verts, scene.verts_list()[0]], [faces, scene.faces_list()[0]])
    kw = dict(image_size=(18, 22), blur_radius=0.01, faces_per_pixel=4, z_clip_value=0.9)
    native = rasterize_meshes(meshes.to(device), **kw)
    assert_fragments_match(native, rasterize_meshes_torch(meshes, **kw), kw["blur_radius"])
    p2f = native[0]
    hits = p2f >= 0
    assert hits.any(-1).sum() > 100
    for j in range(1, 4):
        assert not ((p2f[..., :j] == p2f[..., j:j + 1]) & hits[..., j:j + 1]).any()


def test_z_clip_in_front_of_everything_changes_nothing(device):
    meshes = random_scene(torch.float64, device=device)
    kw = dict(image_size=16, blur_radius=0.01, faces_per_pixel=3)
    for a, b in zip(rasterize_meshes(meshes, **kw), rasterize_meshes(meshes, z_clip_value=0.1,
                                                                      **kw)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fn", [rasterize_meshes, rasterize_meshes_torch])
def test_gradcheck_with_z_clip(fn, device):
    verts, faces = crossing_faces(device)

    def outputs(v):
        return fn(Meshes([v], [faces]), (7, 9), blur_radius=0.02, faces_per_pixel=3,
                  z_clip_value=0.5)[1:]

    assert torch.autograd.gradcheck(outputs, (verts.requires_grad_(),), eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# What the CUDA kernel must guarantee, checked against the native CPU kernel (the same
# rasterisation up to rounding: assert_fragments_match). Skipped without a GPU.

GPU = "cuda"
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def small_faces(n, half_extent, size, seed, depth=(0.5, 2.5)) -> tuple[torch.Tensor, torch.Tensor]:
    """n well-shaped faces (near-equilateral, no slivers: their barycentrics are well conditioned)
    of circumradius about size (NDC), centres in [-hx, hx] x [-hy, hy], random windings, slightly
    tilted, at depths in depth: verts (3n, 3) float64 and faces (n, 3)."""
    g = torch.Generator().manual_seed(seed)
    f64 = dict(generator=g, dtype=torch.float64)
    hx, hy = half_extent
    centre = (torch.rand(n, 1, 2, **f64) * 2 - 1) * torch.tensor([hx, hy], dtype=torch.float64)
    angle = (torch.rand(n, 1, **f64) * 2 * math.pi
             + torch.arange(3, dtype=torch.float64) * 2 * math.pi / 3
             + (torch.rand(n, 3, **f64) - 0.5) * 0.6)
    radius = size * (0.7 + 0.3 * torch.rand(n, 1, **f64))
    sign = torch.where(torch.rand(n, 1, **f64) < 0.5, -1.0, 1.0)
    xy = centre + radius[..., None] * torch.stack([angle.cos(), sign * angle.sin()], -1)
    lo, hi = depth
    z = lo + (hi - lo) * torch.rand(n, 1, **f64) + 0.1 * torch.rand(n, 3, **f64)
    return torch.cat([xy, z[..., None]], -1).reshape(-1, 3), torch.arange(3 * n).view(n, 3)


def large_faces(n, seed) -> tuple[torch.Tensor, torch.Tensor]:
    """n tilted faces each covering the whole image (corners far outside [-1, 1]) and crossing
    each other, so that a face's slot differs between pixels: verts (3n, 3), faces (n, 3)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.tensor([[-6.0, -5.0], [6.0, -5.0], [0.0, 7.0]], dtype=torch.float64)
    angle = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 * math.pi
    rot = torch.stack([torch.cat([angle.cos(), -angle.sin()], 1),
                       torch.cat([angle.sin(), angle.cos()], 1)], 1)  # (n, 2, 2)
    xy = base @ rot.transpose(1, 2)  # (n, 3, 2)
    z = 1.5 + torch.rand(n, 3, generator=g, dtype=torch.float64) * 0.8 - 0.4
    return torch.cat([xy, z[..., None]], -1).reshape(-1, 3), torch.arange(3 * n).view(n, 3)


def cpu_and_gpu(meshes: Meshes, gpu_kw=None, **kw):
    """The native CPU result (default bins) and the CUDA one (with gpu_kw added)."""
    cpu = rasterize_meshes(meshes, **kw)
    gpu = rasterize_meshes(meshes.to(GPU), **{**kw, **(gpu_kw or {})})
    assert all(t.device.type == torch.device(GPU).type for t in gpu)
    return cpu, gpu


@needs_gpu
class TestCudaKernel:
    def test_the_native_cuda_kernel_is_built(self):
        # without it rasterize_meshes falls back to the PyTorch twin on CUDA tensors and the
        # other device tests would not exercise the kernel at all
        assert has_native(torch.device(GPU), torch.float32)

    @pytest.mark.parametrize("bin_size", [None, 16])
    @pytest.mark.parametrize("K,blur", [(48, 0.0), (8, 1e-4)])
    def test_no_face_dropped_from_a_crowded_bin(self, bin_size, K, blur):
        # 12,000 faces over the same 10 x 10 pixels: whatever the bins, a bin holds them all
        verts, faces = small_faces(12000, (0.25, 0.25), 0.025, seed=21)
        meshes = Meshes([verts.float()], [faces])
        kw = dict(image_size=(40, 48), faces_per_pixel=K, blur_radius=blur)
        cpu, gpu = cpu_and_gpu(meshes, dict(bin_size=bin_size), **kw)
        if K == 48:  # no pixel is full: every face that hits a pixel is in its list
            assert (cpu[0][..., -1] == -1).all() and (cpu[0][..., 20] >= 0).sum() > 20
            assert cpu[0][cpu[0] >= 0].unique().numel() > 2000
        else:  # the K nearest of up to 40
            assert (cpu[0][..., -1] >= 0).sum() > 50
        assert_fragments_match(gpu, cpu, blur)

    def test_heterogeneous_batch_in_one_call(self):
        sphere = ico_sphere(4)  # 5120 faces
        big = sphere.verts_packed().double() * 0.9 + torch.tensor([0.1, -0.05, 2.5],
                                                                 dtype=torch.float64)
        small_v, small_f = small_faces(3, (0.3, 0.3), 0.4, seed=2)
        dense_v, dense_f = small_faces(4000, (1.3, 1.0), 0.15, seed=3)
        verts = [big, small_v, torch.zeros(0, 3, dtype=torch.float64), dense_v,
                 torch.rand(4, 3, dtype=torch.float64)]
        faces = [sphere.faces_packed(), small_f, torch.zeros(0, 3, dtype=torch.int64), dense_f,
                 torch.zeros(0, 3, dtype=torch.int64)]
        meshes = Meshes([v.float() for v in verts], faces)
        kw = dict(image_size=(56, 72), faces_per_pixel=5, blur_radius=1e-4)
        cpu, gpu = cpu_and_gpu(meshes, **kw)
        assert (cpu[0][2] == -1).all() and (cpu[0][4] == -1).all()
        assert all((cpu[0][i] >= 0).sum() > 20 for i in (0, 1, 3))
        assert_fragments_match(gpu, cpu, kw["blur_radius"])
        # each mesh alone gives its slice of the batch (faces renumbered)
        first = meshes.mesh_to_faces_packed_first_idx().tolist()
        for i, (v, f) in enumerate(zip(verts, faces)):
            alone = rasterize_meshes(Meshes([v.float()], [f]).to(GPU), **kw)
            p2f = torch.where(alone[0] >= 0, alone[0] + first[i], -1)
            assert_fragments_match((p2f, *alone[1:]), [t[i:i + 1] for t in gpu],
                                   kw["blur_radius"])

    @pytest.mark.parametrize("bin_size", [0, 8, 16, 32, 64, None])
    def test_bin_sizes_give_the_cpu_result(self, bin_size):
        big_v, big_f = small_faces(40, (1.6, 1.2), 1.5, seed=4)  # many cross the image border
        mid_v, mid_f = small_faces(600, (1.4, 1.0), 0.3, seed=5)
        tiny_v, tiny_f = small_faces(3000, (1.4, 1.0), 0.03, seed=6)
        verts = torch.cat([big_v, mid_v, tiny_v]).float()
        faces = torch.cat([big_f, mid_f + len(big_v), tiny_f + len(big_v) + len(mid_v)])
        meshes = Meshes([verts, verts[:len(big_v) + len(mid_v)]],
                        [faces, faces[:len(big_f) + len(mid_f)]])
        kw = dict(image_size=(70, 100), faces_per_pixel=6, blur_radius=1e-3,
                  perspective_correct=True)
        cpu, gpu = cpu_and_gpu(meshes, dict(bin_size=bin_size), **kw)
        assert (cpu[0][..., -1] >= 0).sum() > 500
        assert_fragments_match(gpu, cpu, kw["blur_radius"])

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("K", [1, 50])
    def test_k_1_and_50_with_blur(self, K, dtype):
        verts, faces = small_faces(3000, (1.3, 1.0), 0.2, seed=7)
        meshes = Meshes([verts.to(dtype)], [faces])
        kw = dict(image_size=(48, 64), faces_per_pixel=K, blur_radius=5e-3,
                  clip_barycentric_coords=True)
        cpu, gpu = cpu_and_gpu(meshes, **kw)
        assert (cpu[0][..., -1] >= 0).float().mean() > 0.5  # the K slots fill
        assert_fragments_match(gpu, cpu, kw["blur_radius"])

    # The backward recomputes each (pixel, face) pair; where a pixel centre lies on a face's
    # medial axis (two edges equally near) or, with clipped barycentrics, on an edge's line,
    # the gradient of dists (resp. of the clipped barycentrics) jumps, and in float32 rounding
    # may pick either side. So the float32 cases give no upstream gradient to dists and do not
    # clip; the float64 cases (where such a pixel would need to lie within ~1e-15 of the line)
    # exercise every path.
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("scene", ["one_face", "few_large_faces", "dense"])
    def test_backward_matches_the_cpu_backward(self, scene, dtype):
        # The CUDA backward sums the contributions of the lanes of a warp that hold the same face
        # before one atomic add per face: one face in every pixel's first slot and -1 in the
        # others; a few crossing faces in every pixel, in slots that vary; many small faces.
        if scene == "one_face":
            verts, faces = large_faces(1, seed=14)
            meshes = Meshes([verts], [faces])
            size, K = (64, 96), 3
        elif scene == "few_large_faces":
            verts, faces = large_faces(6, seed=8)
            meshes = Meshes([verts], [faces])
            size, K = (64, 96), 4
        else:
            verts, faces = small_faces(2000, (1.3, 1.0), 0.3, seed=9)
            meshes = Meshes([verts, verts[:1500]], [faces, faces[:500]])
            size, K = (40, 56), 8
        settings = (len(meshes), *size, K, 0.01, True, dtype == torch.float64, False)
        kw = dict(image_size=size, faces_per_pixel=K, blur_radius=0.01, perspective_correct=True,
                  clip_barycentric_coords=settings[6])
        meshes = Meshes([v.to(dtype) for v in meshes.verts_list()], meshes.faces_list())
        pix_to_face = rasterize_meshes(meshes, **kw)[0]
        assert (pix_to_face[..., 0] >= 0).float().mean() > 0.5
        g = torch.Generator().manual_seed(10)
        shape = pix_to_face.shape
        grad_zbuf = torch.randn(shape, generator=g, dtype=dtype)
        grad_bary = torch.randn(shape + (3,), generator=g, dtype=dtype)
        grad_dists = torch.randn(shape, generator=g, dtype=dtype)
        if dtype == torch.float32:
            grad_dists.zero_()
        face_verts = meshes.verts_packed()[meshes.faces_packed()].contiguous()
        inputs = (face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists)
        cpu = bridge.rasterize_meshes_backward(*inputs, settings)
        gpu = bridge.rasterize_meshes_backward(*(t.to(GPU) for t in inputs), settings)
        hit = torch.zeros(len(face_verts), dtype=torch.bool)
        hit[pix_to_face[pix_to_face >= 0]] = True
        assert (cpu[hit].abs().amax((1, 2)) > 0).all()
        if scene == "one_face":
            assert (pix_to_face[..., 0] == 0).all() and (pix_to_face[..., 1:] == -1).all()
        else:  # several faces, crossing: a face's slot varies between pixels
            assert hit.sum() >= 4 and pix_to_face[..., 0].unique().numel() >= 2
        # float32: the CPU and the GPU sum each face's contributions in different orders
        scale = cpu.abs().max().item()
        rtol, atol = (1e-3, 1e-4 * scale) if dtype == torch.float32 else (1e-9, 1e-11 * scale)
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=rtol, atol=atol)

    @pytest.mark.parametrize("z_clip_value", [None, 0.9])
    def test_autograd_matches_the_cpu(self, z_clip_value):
        verts, faces = crossing_faces()
        scene = random_scene(torch.float64, seed=12)
        big_v, big_f = large_faces(3, seed=13)
        meshes = Meshes([torch.cat([verts, big_v]), *scene.verts_list()],
                        [torch.cat([faces, big_f + len(verts)]), *scene.faces_list()])
        kw = dict(image_size=(33, 47), blur_radius=0.01, faces_per_pixel=4,
                  perspective_correct=True, clip_barycentric_coords=True,
                  z_clip_value=z_clip_value)
        m_cpu, v_cpu = with_grad_verts(meshes, "cpu")
        m_gpu, v_gpu = with_grad_verts(meshes, GPU)
        cpu = rasterize_meshes(m_cpu, **kw)
        gpu = rasterize_meshes(m_gpu, **kw)
        equal = assert_fragments_match(gpu, cpu, kw["blur_radius"])
        weighted_sum(cpu, equal).backward()
        weighted_sum(gpu, equal).backward()
        scale = v_cpu.grad.abs().max().item()
        assert scale > 0
        torch.testing.assert_close(v_gpu.grad.cpu(), v_cpu.grad, rtol=1e-9, atol=1e-11 * scale)

    def test_index_tensors_on_another_device_are_rejected(self):
        face_verts = torch.rand(4, 3, 3, device=GPU)
        settings = (1, 4, 4, 2, 0.0, False, False, False)
        on_gpu = dict(dtype=torch.int64, device=GPU)
        with pytest.raises(InputError, match="mesh_to_face_first_idx must be on cuda"):
            bridge.rasterize_meshes_forward(face_verts, torch.tensor([0]), torch.tensor([4]),
                                          settings, 0)
        with pytest.raises(InputError, match="num_faces_per_mesh must be on cuda"):
            bridge.rasterize_meshes_forward(face_verts, torch.tensor([0], **on_gpu),
                                          torch.tensor([4]), settings, 0)
        p2f = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
        grads = (torch.zeros(1, 4, 4, 2, device=GPU), torch.zeros(1, 4, 4, 2, 3, device=GPU),
                 torch.zeros(1, 4, 4, 2, device=GPU))
        with pytest.raises(InputError, match="pix_to_face must be on cuda"):
            bridge.rasterize_meshes_backward(face_verts, p2f, *grads, settings)
        with pytest.raises(InputError, match="grad_bary must be on cuda"):
            bridge.rasterize_meshes_backward(face_verts, p2f.to(GPU), grads[0], grads[1].cpu(),
                                           grads[2], settings)
