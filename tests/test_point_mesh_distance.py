"""Point <-> mesh distances: native kernel vs PyTorch, known geometry, the losses, gradients and
input errors."""

import pytest
import torch

from r3d._native import point_mesh as bridge
from r3d.errors import InputError
from r3d.loss import point_mesh_edge_distance, point_mesh_face_distance
from r3d.loss.point_mesh_distance import (
    point_mesh_edge_distance_torch,
    point_mesh_face_distance_torch,
)
from r3d.ops.closest_point import closest_point_weights
from r3d.ops.point_mesh import (
    edge_point_distance,
    face_point_distance,
    nearest_distance,
    nearest_distance_torch,
    point_edge_distance,
    point_face_distance,
)
from r3d.structures import Meshes, Pointclouds
from r3d.utils.ico_sphere import ico_sphere

# per item: (points, primitives); an item with no primitives, one with no points, one with
# neither, and larger ones
BATCH = [(40, 25), (7, 0), (0, 9), (0, 0), (120, 60), (1, 1)]
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-10)}


def random_batch(corners, dtype, device, seed=0, batch=BATCH):
    """Packed points, primitives (a quarter of them tiny, below the default min area) and the
    first indices of both."""
    g = torch.Generator().manual_seed(seed)
    num_points = [p for p, _ in batch]
    num_prims = [s for _, s in batch]
    points = torch.randn(sum(num_points), 3, generator=g, dtype=torch.float64)
    centres = torch.randn(sum(num_prims), 1, 3, generator=g, dtype=torch.float64)
    spread = torch.where(torch.rand(sum(num_prims), 1, 1, generator=g) < 0.25, 0.05, 0.8)
    prims = centres + spread * torch.randn(sum(num_prims), corners, 3, generator=g,
                                           dtype=torch.float64)

    def first(sizes):
        return torch.cumsum(torch.tensor([0] + sizes[:-1]), 0).to(device)

    return (points.to(device, dtype), first(num_points), prims.to(device, dtype),
            first(num_prims))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("corners", [3, 2])
@pytest.mark.parametrize("point_queries", [True, False])
def test_native_matches_torch(device, dtype, corners, point_queries):
    points, points_first, prims, prims_first = random_batch(corners, dtype, device, seed=1)
    results = []
    for fn in (nearest_distance, nearest_distance_torch):
        p = points.clone().requires_grad_(True)
        s = prims.clone().requires_grad_(True)
        dists = fn(p, points_first, s, prims_first, point_queries)
        finite = torch.isfinite(dists)
        weights = torch.linspace(0.5, 2, dists.shape[0], dtype=dtype, device=device)
        (dists[finite] * weights[finite]).sum().backward()
        results.append((dists, p.grad, s.grad))
    (dists, *grads), (ref, *ref_grads) = results
    # queries of items with nothing to match with are +inf in both
    expect_inf = (
        [n_s == 0 for n_p, n_s in BATCH for _ in range(n_p)] if point_queries
        else [n_p == 0 for n_p, n_s in BATCH for _ in range(n_s)]
    )
    assert torch.isinf(dists).tolist() == expect_inf
    torch.testing.assert_close(dists, ref, **TOL[dtype])
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, **TOL[dtype])


@pytest.mark.parametrize("point_queries", [True, False])
def test_native_matches_torch_on_a_real_mesh(device, point_queries):
    # a spatially coherent mesh, where the box test prunes most faces
    mesh = ico_sphere(3, device=device)
    tris = mesh.verts_packed()[mesh.faces_packed()].to(torch.float64)
    g = torch.Generator().manual_seed(2)
    points = (torch.randn(700, 3, generator=g, dtype=torch.float64) * 0.7).to(device)
    first = torch.zeros(1, dtype=torch.int64, device=device)
    got = nearest_distance(points, first, tris, first, point_queries, 1e-4)
    want = nearest_distance_torch(points, first, tris, first, point_queries, 1e-4)
    torch.testing.assert_close(got, want, **TOL[torch.float64])



def _noisy_sphere(level, gen, centre=(0.0, 0.0, 0.0), radius=1.0):
    """Verts, faces and edges of an icosphere with jittered vertices."""
    mesh = ico_sphere(level)
    verts = mesh.verts_packed().to(torch.float64)
    verts = verts + 0.2 / 2**level * torch.randn(verts.shape, generator=gen, dtype=torch.float64)
    return radius * verts + torch.tensor(centre), mesh.faces_packed(), mesh.edges_packed()


def large_batch(corners, seed):
    """The (points, primitives) of the items of a batch of large ones: a sphere of 5120 triangles
    (or its 7680 edges) with 3000 points around it; 40 points and nothing to match them with; a
    sphere and no points; a smaller shifted sphere with 1000 points scattered far around it."""
    g = torch.Generator().manual_seed(seed)
    items = []
    for level, num_points, centre, spread in [(4, 3000, 0.0, 0.1), (None, 40, 0.0, 1.0),
                                              (2, 0, 0.0, 0.0), (3, 1000, 3.0, 1.0)]:
        if level is None:
            prims = torch.zeros(0, corners, 3, dtype=torch.float64)
        else:
            verts, faces, edges = _noisy_sphere(level, g, (centre, 0.0, 0.0), 0.5 + 0.5 * level / 4)
            prims = verts[faces if corners == 3 else edges]
        directions = torch.randn(num_points, 3, generator=g, dtype=torch.float64)
        radii = 1 + spread * torch.randn(num_points, 1, generator=g, dtype=torch.float64)
        points = directions / directions.norm(dim=1, keepdim=True) * radii
        items.append((points + torch.tensor([centre, 0.0, 0.0]), prims))
    return items


def _packed(tensors):
    """The concatenation of tensors and the index of the first row of each."""
    first = torch.tensor([0] + [t.shape[0] for t in tensors[:-1]]).cumsum(0)
    return torch.cat(tensors), first


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("corners", [3, 2])
@pytest.mark.parametrize("point_queries", [True, False])
def test_native_matches_torch_on_large_items(device, dtype, corners, point_queries):
    # The native forward searches all queries; the pure-PyTorch oracle checks 30 random queries
    # of every item against all of that item's candidates.
    items = large_batch(corners, seed=8 + corners)
    points, points_first = _packed([p.to(device, dtype) for p, _ in items])
    prims, prims_first = _packed([s.to(device, dtype) for _, s in items])
    # half of the triangles are below min_area, and count as their edges
    min_area = 0.0
    if corners == 3:
        tris = torch.cat([s for _, s in items])
        edge1, edge2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
        min_area = float(torch.linalg.cross(edge1, edge2).norm(dim=1).median()) / 2
    dists, idx = bridge.point_mesh_forward(points, points_first.to(device), prims,
                                         prims_first.to(device), min_area, point_queries)
    g = torch.Generator().manual_seed(9)
    tol = TOL[dtype]
    for n, (item_points, item_prims) in enumerate(items):
        queries, candidates = (item_points, item_prims) if point_queries else \
            (item_prims, item_points)
        q_first = int((points_first if point_queries else prims_first)[n])
        c_first = int((prims_first if point_queries else points_first)[n])
        if queries.shape[0] == 0:
            continue
        chosen = torch.randperm(queries.shape[0], generator=g)[:30]
        got_dists, got_idx = dists[q_first + chosen].cpu(), idx[q_first + chosen].cpu()
        if candidates.shape[0] == 0:
            assert torch.isinf(got_dists).all() and (got_idx == -1).all()
            continue
        q, c = queries[chosen].to(dtype), candidates.to(dtype)
        _, table = (closest_point_weights(q[:, None], c[None], min_area) if point_queries
                    else closest_point_weights(c[None], q[:, None], min_area))
        want, want_idx = table.min(1)
        torch.testing.assert_close(got_dists, want, **tol)
        # the match is a nearest candidate, the oracle's own where the nearest is unique
        picked = table.gather(1, (got_idx - c_first)[:, None])[:, 0]
        torch.testing.assert_close(picked, want, **tol)
        second = table.scatter(1, want_idx[:, None], float("inf")).min(1).values
        unique = second - want > 10 * (tol["rtol"] * want + tol["atol"])
        assert unique.any()
        assert torch.equal(got_idx[unique] - c_first, want_idx[unique])


@pytest.mark.parametrize("corners", [3, 2])
@pytest.mark.parametrize("point_queries", [True, False])
def test_ties_go_to_the_lowest_index(device, corners, point_queries):
    # points on the vertices of a mesh are at distance 0 exactly from every primitive around them
    # (triangles count as their edges here): the match is the lowest index of those
    verts, faces, edges = _noisy_sphere(4, torch.Generator().manual_seed(10))
    corner_idx = faces if corners == 3 else edges
    first = torch.zeros(1, dtype=torch.int64, device=device)
    dists, idx = bridge.point_mesh_forward(verts.to(device), first, verts[corner_idx].to(device),
                                         first, 1e9, point_queries)
    assert (dists == 0).all()
    if point_queries:
        prim_ids = torch.arange(corner_idx.shape[0]).repeat_interleave(corners)
        want = torch.full((verts.shape[0],), corner_idx.shape[0]).scatter_reduce(
            0, corner_idx.flatten(), prim_ids, "amin")
    else:
        want = corner_idx.min(1).values
    assert torch.equal(idx.cpu(), want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("corners", [3, 2])
def test_copies_tie_to_the_first_whatever_the_rounding(device, dtype, corners):
    # 150 copies of one primitive: every point is as near to all of them, by the same arithmetic.
    # Where rounding puts a distance a little below the bound of the box (the closest point is a
    # corner that sets the box), box pruning must still not skip the first copy.
    g = torch.Generator().manual_seed(11)
    prim = torch.randn(1, corners, 3, generator=g, dtype=torch.float64)
    prims = prim.expand(150, corners, 3).to(device, dtype).contiguous()
    points = (3 * torch.randn(400, 3, generator=g, dtype=torch.float64)).to(device, dtype)
    first = torch.zeros(1, dtype=torch.int64, device=device)
    for min_area in (0.0, 1e9):
        dists, idx = bridge.point_mesh_forward(points, first, prims, first, min_area, True)
        assert (idx == 0).all()


@pytest.mark.parametrize("impl", [nearest_distance, nearest_distance_torch])
def test_a_sliver_is_never_nearer_than_its_box(device, impl):
    # corners (a, b, 2b - a): collinear in float64, not quite in float32, where the plane test may
    # pass on rounding alone; the distance is still that of a point of the triangle
    g = torch.Generator().manual_seed(12)
    a, b = torch.randn(2, 200, 3, generator=g, dtype=torch.float64)
    slivers = torch.stack([a, b, 2 * b - a], 1).float()
    points = 2 * torch.randn(300, 3, generator=g, dtype=torch.float64)
    lo, hi = slivers.double().amin(1), slivers.double().amax(1)
    outside = (lo[None] - points[:, None]).clamp(min=0) + (points[:, None] - hi[None]).clamp(min=0)
    bound = (outside**2).sum(-1).amin(1)
    first = torch.zeros(1, dtype=torch.int64, device=device)
    got = impl(points.float().to(device), first, slivers.to(device), first, True, 0.0).cpu()
    assert (got.double() >= bound * (1 - 1e-5) - 1e-6).all()


UNIT_TRIANGLE = [[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]
# point, squared distance to UNIT_TRIANGLE
TRIANGLE_CASES = [
    ([0.2, 0.2, 0.5], 0.25),  # above the interior
    ([0.3, 0.1, -2.0], 4.0),  # below the interior
    ([0.5, -1.0, 1.0], 2.0),  # beyond edge v0 v1
    ([-2.0, 0.5, 0.0], 4.0),  # beyond edge v0 v2
    ([1.0, 1.0, 0.0], 0.5),  # beyond edge v1 v2
    ([-1.0, -1.0, 2.0], 6.0),  # beyond vertex v0
    ([2.0, -1.0, 0.0], 2.0),  # beyond vertex v1
    ([-1.0, 2.0, 1.0], 3.0),  # beyond vertex v2
    ([0.25, 0.25, 0.0], 0.0),  # on the triangle
]


def _distances(device, impl, points, prims, min_area=0.0):
    points = torch.tensor(points, dtype=torch.float64, device=device)
    prims = torch.tensor(prims, dtype=torch.float64, device=device)
    first = torch.zeros(1, dtype=torch.int64, device=device)
    return impl(points, first, prims, first, True, min_area)


@pytest.mark.parametrize("impl", [nearest_distance, nearest_distance_torch])
def test_known_triangle_distances(device, impl):
    points = [p for p, _ in TRIANGLE_CASES]
    want = torch.tensor([d for _, d in TRIANGLE_CASES], dtype=torch.float64, device=device)
    torch.testing.assert_close(_distances(device, impl, points, [UNIT_TRIANGLE]), want)
    # the triangle is closer to a point than the far one of two triangles
    far = [[5.0, 5, 5], [6, 5, 5], [5, 6, 5]]
    torch.testing.assert_close(_distances(device, impl, points, [far, UNIT_TRIANGLE]), want)


@pytest.mark.parametrize("impl", [nearest_distance, nearest_distance_torch])
def test_small_and_degenerate_triangles_count_as_edges(device, impl):
    # area 0.5 < min_area: a point above the interior is at the distance of the nearest edge
    got = _distances(device, impl, [[0.2, 0.3, 1.0]], [UNIT_TRIANGLE], min_area=0.6)
    torch.testing.assert_close(got, torch.tensor([1.04], dtype=torch.float64, device=device))
    collinear = [[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]
    got = _distances(device, impl, [[1.0, 1, 0], [3, 0, 0], [-1, 0, 2]], [collinear])
    torch.testing.assert_close(got, torch.tensor([1.0, 1, 5], dtype=torch.float64,
                                                 device=device))
    point_like = [[1.0, 1, 1]] * 3
    got = _distances(device, impl, [[1.0, 1, 3]], [point_like])
    torch.testing.assert_close(got, torch.tensor([4.0], dtype=torch.float64, device=device))


@pytest.mark.parametrize("impl", [nearest_distance, nearest_distance_torch])
def test_known_segment_distances(device, impl):
    segment = [[0.0, 0, 0], [1, 0, 0]]
    points = [[0.5, 1, 0], [-1, 0, 0], [3, 1, 0], [0.25, 0, 0]]
    got = _distances(device, impl, points, [segment])
    torch.testing.assert_close(got, torch.tensor([1.0, 1, 5, 0], dtype=torch.float64,
                                                 device=device))
    got = _distances(device, impl, [[0.0, 3, 4]], [[[0.0, 0, 0], [0, 0, 0]]])
    torch.testing.assert_close(got, torch.tensor([25.0], dtype=torch.float64, device=device))


def test_pytorch3d_style_functions_agree_with_the_generic_one(device):
    points, points_first, tris, tris_first = random_batch(3, torch.float64, device, seed=3)
    _, _, segms, segms_first = random_batch(2, torch.float64, device, seed=3)
    args = (points, points_first, tris, tris_first)
    torch.testing.assert_close(point_face_distance(*args, 120), nearest_distance(*args, True))
    torch.testing.assert_close(face_point_distance(*args, 60), nearest_distance(*args, False))
    args = (points, points_first, segms, segms_first)
    torch.testing.assert_close(point_edge_distance(*args, 120),
                               nearest_distance(*args, True, 0.0))
    torch.testing.assert_close(edge_point_distance(*args, 60),
                               nearest_distance(*args, False, 0.0))


@pytest.mark.parametrize("impl", [nearest_distance, nearest_distance_torch])
@pytest.mark.parametrize("corners", [3, 2])
def test_gradcheck_float64(device, impl, corners):
    batch = [(6, 4), (0, 2), (5, 3)]
    points, points_first, prims, prims_first = random_batch(corners, torch.float64, device,
                                                            seed=4, batch=batch)
    points.requires_grad_(True)
    prims.requires_grad_(True)
    for point_queries in (True, False):
        def fn(p, s, point_queries=point_queries):
            d = impl(p, points_first, s, prims_first, point_queries)
            return d[torch.isfinite(d)]

        assert torch.autograd.gradcheck(fn, (points, prims))


def _tiny_batch(dtype=torch.float64, device="cpu"):
    tri = torch.tensor(UNIT_TRIANGLE, dtype=dtype, device=device)
    faces = torch.tensor([[0, 1, 2]], device=device)
    meshes = Meshes([tri, tri + 5], [faces, faces])
    clouds = [
        torch.tensor([[0.2, 0.2, 1.0], [2.0, 0.0, 0.0]], dtype=dtype, device=device),
        torch.tensor([[0.25, 0.25, 0.5]], dtype=dtype, device=device) + 5,
    ]
    return meshes, Pointclouds(clouds)


@pytest.mark.parametrize("loss", [point_mesh_face_distance, point_mesh_face_distance_torch])
def test_face_loss_by_hand(device, loss):
    meshes, pcls = _tiny_batch(device=device)
    # mesh 0: points at 1 and 1 (mean 1), face to nearest point 1; mesh 1: 0.25 and 0.25;
    # each direction summed over the batch and divided by N = 2
    assert loss(meshes, pcls).item() == pytest.approx(((1 + 1) / 2 + 0.25 + 1 + 0.25) / 2)


@pytest.mark.parametrize("loss", [point_mesh_edge_distance, point_mesh_edge_distance_torch])
def test_edge_loss_by_hand(device, loss):
    meshes, pcls = _tiny_batch(device=device)
    meshes, pcls = meshes[0], pcls[0]
    # points to edges: 1.04 (v0 v1 and v0 v2), 1; edges to points: 1, 1.04, 1
    assert loss(meshes, pcls).item() == pytest.approx((1.04 + 1) / 2 + (1 + 1.04 + 1) / 3)


def test_face_loss_ignores_a_pair_with_both_sides_empty(device):
    meshes, pcls = _tiny_batch(device=device)
    verts, faces = meshes.verts_list(), meshes.faces_list()
    with_empty = Meshes(verts + [torch.zeros(0, 3, dtype=torch.float64, device=device)],
                        faces + [torch.zeros(0, 3, dtype=torch.int64, device=device)])
    clouds = Pointclouds(pcls.points_list() + [torch.zeros(0, 3, dtype=torch.float64,
                                                           device=device)])
    # the same sums, divided by 3 instead of 2
    want = point_mesh_face_distance(meshes, pcls) * 2 / 3
    torch.testing.assert_close(point_mesh_face_distance(with_empty, clouds), want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_losses_native_match_torch_with_gradients(device, dtype):
    mesh = ico_sphere(2, device=device)
    verts = mesh.verts_packed().to(dtype)
    g = torch.Generator().manual_seed(5)
    clouds = [torch.randn(n, 3, generator=g).to(device, dtype) for n in (300, 50)]
    for native, twin in ((point_mesh_face_distance, point_mesh_face_distance_torch),
                         (point_mesh_edge_distance, point_mesh_edge_distance_torch)):
        values, grads = [], []
        for loss in (native, twin):
            v = verts.clone().requires_grad_(True)
            p = [c.clone().requires_grad_(True) for c in clouds]
            faces = mesh.faces_packed()
            value = loss(Meshes([v, v * 0.5], [faces, faces]), Pointclouds(p))
            value.backward()
            values.append(value)
            grads.append([v.grad] + [c.grad for c in p])
        torch.testing.assert_close(values[0], values[1], **TOL[dtype])
        for got, want in zip(*grads):
            torch.testing.assert_close(got, want, **TOL[dtype])


def test_loss_gradcheck_float64():
    g = torch.Generator().manual_seed(6)
    verts = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [1, 3, 4], [0, 2, 4]])
    points = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)

    def fn(v, p):
        meshes, pcls = Meshes([v], [faces]), Pointclouds([p])
        return point_mesh_face_distance(meshes, pcls) + point_mesh_edge_distance(meshes, pcls)

    assert torch.autograd.gradcheck(fn, (verts, points))


def _loss_inputs(case):
    meshes, pcls = _tiny_batch()
    empty_cloud = torch.zeros(0, 3, dtype=torch.float64)
    if case == "sizes":
        return meshes, pcls[0]
    if case == "no faces":
        return Meshes([torch.zeros(3, 3)], [torch.zeros(0, 3, dtype=torch.int64)]), pcls[0]
    if case == "no points":
        return meshes, Pointclouds([empty_cloud, empty_cloud])
    if case == "lonely cloud":
        return meshes, Pointclouds([pcls.points_list()[0], empty_cloud])
    if case == "nan":
        bad = pcls.points_list()[0].clone()
        bad[1, 2] = float("nan")
        return meshes, Pointclouds([bad, pcls.points_list()[1]])
    if case == "dtype":
        return meshes, Pointclouds([c.float() for c in pcls.points_list()])
    if case == "type meshes":
        return [torch.zeros(3, 3)], pcls
    return meshes, pcls.points_packed()


@pytest.mark.parametrize("loss", [point_mesh_face_distance, point_mesh_edge_distance])
@pytest.mark.parametrize(
    "case, match",
    [
        ("sizes", "batches of equal size, got 2 meshes and 1 point clouds"),
        ("no faces", "meshes is empty"),
        ("no points", "pcls is empty"),
        ("lonely cloud", r"pcls\[1\] has 0 points and meshes\[1\] has 1 faces"),
        ("nan", "pcls' points contains NaN"),
        ("dtype", "must have one dtype"),
        ("type meshes", "meshes must be an r3d Meshes, got list"),
        ("type pcls", "pcls must be an r3d Pointclouds, got Tensor"),
    ],
)
def test_loss_invalid_inputs_raise(loss, case, match):
    if loss is point_mesh_edge_distance:
        match = match.replace("1 faces", "3 edges")
    with pytest.raises(InputError, match=match):
        loss(*_loss_inputs(case))


def _op_inputs():
    points = torch.randn(4, 3)
    tris = torch.randn(2, 3, 3)
    return [points, torch.tensor([0, 2]), tris, torch.tensor([0, 1]), 4]


@pytest.mark.parametrize(
    "position, value, match",
    [
        (0, torch.randn(4, 2), r"points must have shape \(\.\.\., 3\)"),
        (0, torch.full((4, 3), float("nan")), "points contains NaN"),
        (2, torch.randn(2, 2, 3), r"tris must have shape \(S, 3, 3\)"),
        (2, torch.randn(2, 3, 3, dtype=torch.float64), "tris must have the dtype of points"),
        (1, torch.tensor([0, 2], dtype=torch.int32), "points_first_idx must be an int64"),
        (3, torch.tensor([0]), "must have one entry per batch item, got 2 and 1"),
        (3, torch.tensor([1, 1]), "tris_first_idx must start at 0"),
        (1, torch.tensor([0, 5]), "points_first_idx must be non-decreasing"),
        (4, 1, "is longer than the padded size 1"),
    ],
)
def test_op_invalid_inputs_raise(position, value, match):
    args = _op_inputs()
    args[position] = value
    with pytest.raises(InputError, match=match):
        point_face_distance(*args)


def test_ext_rejects_unsafe_inputs():
    points, tris = torch.zeros(3, 3), torch.zeros(2, 3, 3)
    first = torch.tensor([0])
    with pytest.raises(InputError, match=r"prims must have shape \(S, 3, 3\) .* got \(2, 4, 3\)"):
        bridge.point_mesh_forward(points, first, torch.zeros(2, 4, 3), first, 0.0, True)
    with pytest.raises(InputError, match=r"idx has values in \[0, 2\], expected them in"):
        bridge.point_mesh_backward(points, tris, torch.tensor([0, 1, 2]), torch.zeros(3), 0.0, True)
    with pytest.raises(InputError, match=r"grad_dists must have shape \(2\), got \(3,\)"):
        bridge.point_mesh_backward(points, tris, torch.tensor([0, -1]), torch.zeros(3), 0.0, False)


def test_float16_uses_torch_path():
    # float16 has no native kernel: the op still answers, through PyTorch
    points, points_first, tris, tris_first = random_batch(3, torch.float32, "cpu", seed=7)
    got = point_face_distance(points.half(), points_first, tris.half(), tris_first, 120)
    assert got.dtype == torch.float16
    want = point_face_distance(points, points_first, tris, tris_first, 120)
    torch.testing.assert_close(got.float(), want, rtol=2e-2, atol=2e-2)
