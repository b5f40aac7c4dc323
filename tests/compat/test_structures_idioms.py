"""Structure, op, loss, texture and transform idioms of PyTorch3D code (issue 21, "Refused
although PyTorch3D accepts").

Each test is written the way a PyTorch3D user writes it, with ``pytorch3d`` replaced by
``r3d``, and asserts what PyTorch3D 0.7.9 gives for the same call (values worked out by hand;
PyTorch3D itself is not imported: CI does not have it). Where PyTorch3D fails on an idiom it
accepts (empty members given as ``torch.tensor([])`` leave its packed faces float, and every
op indexing with them raises), the expected values are those PyTorch3D gives for the same
batch built with (0, 3) tensors.
"""

from __future__ import annotations

import math

import pytest
import torch

from r3d.loss import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    point_mesh_face_distance,
)
from r3d.ops import (
    GraphConv,
    SubdivideMeshes,
    knn_points,
    packed_to_padded,
    padded_to_packed,
    sample_points_from_meshes,
)
from r3d.renderer import TexturesAtlas, TexturesUV, TexturesVertex
from r3d.structures import Meshes, Pointclouds
from r3d.transforms import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_angles_to_matrix,
    hat,
    hat_inv,
    matrix_to_axis_angle,
    matrix_to_euler_angles,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_apply,
    quaternion_invert,
    quaternion_multiply,
    quaternion_raw_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    random_rotations,
    rotation_6d_to_matrix,
    se3_exp_map,
    se3_log_map,
    so3_exp_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
    standardize_quaternion,
)

TRI = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
# the unit tetrahedron: edges of squared length 1 (from the origin) and 2 (between the others)
TETRA_V = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
TETRA_F = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])


def _tetra_and_empty() -> Meshes:
    return Meshes(verts=[TETRA_V, torch.tensor([])], faces=[TETRA_F, torch.tensor([])])


# -- Meshes and Pointclouds with empty members -----------------------------------------------


def test_meshes_with_an_empty_member():
    meshes = Meshes(verts=[TRI.double(), torch.tensor([])],
                    faces=[torch.tensor([[0, 1, 2]]), torch.tensor([])])
    assert meshes.num_verts_per_mesh().tolist() == [3, 0]
    assert meshes.num_faces_per_mesh().tolist() == [1, 0]
    assert meshes.valid.tolist() == [True, False] and not meshes.isempty()
    # the empty member is stored like the others: (0, 3), the batch's dtype, int64 faces
    assert meshes.verts_list()[1].shape == (0, 3)
    assert meshes.verts_list()[1].dtype == torch.float64
    assert meshes.faces_list()[1].shape == (0, 3)
    assert meshes.faces_list()[1].dtype == torch.int64
    assert meshes.faces_packed().dtype == torch.int64
    assert meshes.verts_padded().shape == (2, 3, 3)
    assert meshes.faces_padded().tolist() == [[[0, 1, 2]], [[-1, -1, -1]]]


def test_meshes_with_an_empty_first_member():
    meshes = Meshes(verts=[torch.tensor([]), TRI], faces=[torch.tensor([]),
                                                          torch.tensor([[0, 1, 2]])])
    assert meshes.faces_packed().tolist() == [[0, 1, 2]]
    assert meshes.edges_packed().tolist() == [[0, 1], [0, 2], [1, 2]]
    assert meshes.verts_normals_packed().tolist() == [[0.0, 0.0, 1.0]] * 3


def test_meshes_of_empty_members_only():
    meshes = Meshes(verts=[torch.tensor([])], faces=[torch.tensor([])])
    assert meshes.isempty()
    assert meshes.verts_padded().shape == (1, 0, 3)
    assert meshes.faces_padded().shape == (1, 0, 3)


def test_float_faces_are_cast_to_int64():
    meshes = Meshes(verts=[TRI], faces=[torch.tensor([[0.0, 1.0, 2.0]])])
    assert meshes.faces_list()[0].dtype == torch.int64
    assert meshes.faces_list()[0].tolist() == [[0, 1, 2]]
    padded = Meshes(verts=TRI[None].expand(2, 3, 3),
                    faces=torch.tensor([[[0.0, 1.0, 2.0]], [[-1.0, -1.0, -1.0]]]))
    assert padded.faces_padded().dtype == torch.int64
    assert padded.num_faces_per_mesh().tolist() == [1, 0]


def test_float_faces_that_are_not_indices_raise():
    with pytest.raises(ValueError, match=r"faces\[0\] row 0 is \[0.0, 1.5, 2.0\].*whole"):
        Meshes(verts=[TRI], faces=[torch.tensor([[0.0, 1.5, 2.0]])])


def test_pointclouds_with_empty_and_none_members():
    points = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    clouds = Pointclouds(points=[points, torch.tensor([])],
                         normals=[torch.ones(2, 3), None],
                         features=[torch.ones(2, 4), torch.tensor([])])
    assert clouds.num_points_per_cloud().tolist() == [2, 0]
    assert clouds.points_list()[1].shape == (0, 3)
    assert clouds.normals_list()[1].shape == (0, 3)
    assert clouds.features_list()[1].shape == (0, 4)
    assert clouds.features_padded().shape == (2, 2, 4)
    assert clouds.features_padded()[1].abs().sum() == 0


def test_pointclouds_whose_entries_are_all_empty_have_no_features():
    clouds = Pointclouds(points=[torch.tensor([])], features=[None], normals=[torch.tensor([])])
    assert clouds.features_list() is None and clouds.normals_list() is None


def test_a_none_feature_for_a_cloud_with_points_raises():
    with pytest.raises(ValueError, match=r"features\[0\] is empty .* cloud 0 has 3 points"):
        Pointclouds(points=[TRI], features=[None])


# -- losses and ops on batches with an empty member ------------------------------------------


def test_mesh_edge_loss_with_an_empty_member():
    # squared edge lengths 1, 1, 1, 2, 2, 2: mean 1.5 for the tetrahedron, 0 for the empty
    # mesh, averaged over the 2 meshes
    assert mesh_edge_loss(_tetra_and_empty()).item() == pytest.approx(0.75)


def test_mesh_laplacian_smoothing_with_an_empty_member():
    # uniform Laplacian of the tetrahedron (every vertex sees the three others): |L v0| is
    # |(1/3, 1/3, 1/3)| and |L v1| = |L v2| = |L v3| = |(-1, 1/3, 1/3)|; mean over 4 vertices,
    # then over the 2 meshes
    expected = (math.sqrt(3) / 3 + 3 * math.sqrt(11 / 9)) / 4 / 2
    loss = mesh_laplacian_smoothing(_tetra_and_empty(), method="uniform")
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_chamfer_distance_with_an_empty_cloud():
    x = Pointclouds([torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), torch.tensor([])])
    y = Pointclouds([torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([[5.0, 5.0, 5.0]])])
    # cloud 0: x -> y squared distances 0 and 1 (mean 0.5), y -> x 0; cloud 1 has no x point
    loss, _ = chamfer_distance(x, y, batch_reduction=None)
    assert loss.tolist() == [0.5, 0.0]
    assert chamfer_distance(x, y)[0].item() == 0.25


def test_point_mesh_face_distance_with_empty_members():
    clouds = Pointclouds([torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([])])
    # the point is the tetrahedron's apex: 0 to the faces through it, 1 to the base; point to
    # face 0, face to point mean 1/4; the empty pair adds nothing; averaged over 2 pairs
    assert point_mesh_face_distance(_tetra_and_empty(), clouds).item() == pytest.approx(0.125)


def test_sample_points_from_meshes_with_an_empty_member():
    samples, normals = sample_points_from_meshes(_tetra_and_empty(), 10, return_normals=True)
    assert samples.shape == (2, 10, 3) and normals.shape == (2, 10, 3)
    assert samples[1].abs().sum() == 0 and normals[1].abs().sum() == 0
    assert (samples[0] >= 0).all() and (samples[0].sum(1) <= 1 + 1e-6).all()


def test_subdivide_meshes_with_an_empty_member():
    new = SubdivideMeshes()(_tetra_and_empty())
    # 4 vertices + 6 edge midpoints, 4 faces split in 4
    assert new.num_verts_per_mesh().tolist() == [10, 0]
    assert new.num_faces_per_mesh().tolist() == [16, 0]


def test_graph_conv_on_a_batch_with_an_empty_member():
    meshes = _tetra_and_empty()
    conv = GraphConv(3, 2)
    out = conv(meshes.verts_packed(), meshes.edges_packed())
    assert out.shape == (4, 2)


# -- textures -------------------------------------------------------------------------------


def _vertex_textures() -> TexturesVertex:
    return TexturesVertex([torch.full((2, 3), float(i)) for i in range(4)])


@pytest.mark.parametrize("index, items", [
    (2, [2.0]),
    (-1, [3.0]),
    (slice(1, 3), [1.0, 2.0]),
    ([0, 2], [0.0, 2.0]),
    (torch.tensor([1, 3]), [1.0, 3.0]),
    (torch.tensor([True, False, True, False]), [0.0, 2.0]),
])
def test_textures_take_the_indices_meshes_take(index, items):
    picked = _vertex_textures()[index]
    assert [t[0, 0].item() for t in picked.verts_features_list()] == items


@pytest.mark.parametrize("index", [4, -5, [0, 7]])
def test_out_of_range_batch_indices_raise_index_error(index):
    with pytest.raises(IndexError):
        _vertex_textures()[index]
    meshes = Meshes(verts=[TRI] * 4, faces=[torch.tensor([[0, 1, 2]])] * 4)
    with pytest.raises(IndexError):
        meshes[index]


def test_get_mesh_verts_faces_out_of_range_raises_value_error():
    meshes = Meshes(verts=[TRI] * 2, faces=[torch.tensor([[0, 1, 2]])] * 2)
    with pytest.raises(ValueError, match="out of range"):
        meshes.get_mesh_verts_faces(10)
    with pytest.raises(ValueError, match="out of range"):
        Pointclouds([TRI] * 2).get_cloud(10)


def test_textures_uv_casts_float_faces_uvs():
    tex = TexturesUV(maps=torch.rand(1, 4, 4, 3), faces_uvs=[torch.tensor([[0.0, 1.0, 2.0]])],
                     verts_uvs=[torch.rand(3, 2)])
    assert tex.faces_uvs_list()[0].dtype == torch.int64
    assert tex.faces_uvs_padded().tolist() == [[[0, 1, 2]]]


def test_textures_of_an_empty_member():
    # PyTorch3D refuses torch.tensor([]) in textures; r3d takes it as it does in Meshes
    verts, faces = [TRI, torch.tensor([])], [torch.tensor([[0, 1, 2]]), torch.tensor([])]
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    meshes = Meshes(verts, faces, textures=TexturesVertex([colours, torch.tensor([])]))
    assert meshes.textures.verts_features_list()[1].shape == (0, 3)
    assert torch.equal(meshes.textures.faces_verts_textures_packed(meshes.faces_packed()),
                       colours[None])
    uv = TexturesUV(maps=torch.rand(2, 4, 4, 3), faces_uvs=[torch.tensor([[0, 1, 2]]),
                                                            torch.tensor([])],
                    verts_uvs=[torch.rand(3, 2), torch.tensor([])])
    meshes = Meshes(verts, faces, textures=uv)
    assert meshes.textures.faces_uvs_list()[1].shape == (0, 3)
    assert meshes.textures.faces_uvs_list()[1].dtype == torch.int64


def test_textures_isempty():
    assert not _vertex_textures().isempty()
    assert _vertex_textures()[[]].isempty()


def test_submeshes_of_vertex_textured_meshes():
    features = torch.arange(12.0).reshape(4, 3)
    meshes = Meshes(verts=[TETRA_V], faces=[TETRA_F], textures=TexturesVertex([features]))
    # faces 1 and 3 use every vertex; face 0 uses vertices 0, 1, 2
    sub = meshes.submeshes([[torch.tensor([1, 3]), torch.tensor([0])]])
    assert sub.faces_list()[0].tolist() == [[0, 1, 3], [1, 2, 3]]
    assert torch.equal(sub.textures.verts_features_list()[0], features)
    assert torch.equal(sub.textures.verts_features_list()[1], features[:3])


def test_submeshes_of_uv_and_atlas_textured_meshes():
    faces_uvs = torch.tensor([[0, 1, 2], [1, 2, 3], [2, 3, 4], [0, 3, 4]])
    uv = TexturesUV(maps=torch.rand(1, 4, 4, 3), faces_uvs=[faces_uvs],
                    verts_uvs=[torch.rand(5, 2)])
    sub = Meshes(verts=[TETRA_V], faces=[TETRA_F], textures=uv).submeshes(
        [[torch.tensor([1, 3]), torch.tensor([0])]])
    assert [f.tolist() for f in sub.textures.faces_uvs_list()] == [
        [[1, 2, 3], [0, 3, 4]], [[0, 1, 2]]]
    assert torch.equal(sub.textures.maps_padded()[1], uv.maps_padded()[0])
    atlas = torch.rand(4, 2, 2, 3)
    sub = Meshes(verts=[TETRA_V], faces=[TETRA_F], textures=TexturesAtlas([atlas])).submeshes(
        [[torch.tensor([3, 1])]])
    assert torch.equal(sub.textures.atlas_packed(), atlas[[3, 1]])


def test_textures_uv_centers_for_image():
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25]])
    tex = TexturesUV(maps=torch.rand(1, 4, 6, 3), faces_uvs=[torch.tensor([[0, 1, 2]])],
                     verts_uvs=[verts_uvs])
    # a 4 x 6 image with align_corners: u = 0..1 spans columns 0..5, v = 0..1 rows 3..0
    centers = tex.centers_for_image(0)
    torch.testing.assert_close(centers, torch.tensor([[0.0, 3.0], [5.0, 0.0], [2.5, 2.25]]))


# -- Pointclouds methods ------------------------------------------------------------------


def test_pointclouds_subsample_with_a_tensor_of_sizes():
    clouds = Pointclouds([torch.rand(5, 3), torch.rand(3, 3)])
    sub = clouds.subsample(torch.tensor([2, 1]))
    assert sub.num_points_per_cloud().tolist() == [2, 1]
    for kept, original in zip(sub.points_list(), clouds.points_list()):
        assert all((original == row).all(1).any() for row in kept)
    assert clouds.subsample(torch.tensor([5, 3])) is clouds


def test_pointclouds_estimate_normals_of_a_plane():
    grid = torch.stack(torch.meshgrid(torch.arange(5.0), torch.arange(5.0), indexing="ij"), -1)
    plane = torch.cat([grid.reshape(-1, 2), torch.zeros(25, 1)], 1)
    clouds = Pointclouds([plane])
    normals = clouds.estimate_normals(neighborhood_size=8)
    assert normals.shape == (1, 25, 3)
    torch.testing.assert_close(normals[0].abs(), torch.tensor([[0.0, 0.0, 1.0]]).expand(25, 3))
    assert clouds.normals_list() is None
    clouds.estimate_normals(neighborhood_size=8, assign_to_self=True)
    torch.testing.assert_close(clouds.normals_padded(), normals)


# -- SubdivideMeshes' methods ---------------------------------------------------------------


def test_subdivide_faces_in_pytorch3d_layout():
    meshes = Meshes(verts=[TRI], faces=[torch.tensor([[0, 1, 2]])])
    # edges (0, 1), (0, 2), (1, 2) get the new vertices 3, 4, 5
    faces = SubdivideMeshes().subdivide_faces(meshes)
    assert faces.tolist() == [[0, 3, 4], [1, 5, 3], [2, 4, 5], [5, 4, 3]]


def test_subdivide_homogeneous_gives_padded_features():
    meshes = Meshes(verts=[TRI, TRI + 1], faces=[torch.tensor([[0, 1, 2]])] * 2)
    subdivide = SubdivideMeshes(meshes)
    feats = torch.tensor([[[0.0], [2.0], [4.0]], [[6.0], [8.0], [10.0]]])
    new, new_feats = subdivide.subdivide_homogeneous(meshes, feats)
    # kept vertices, then the midpoints of edges (0, 1), (0, 2), (1, 2)
    assert new_feats.tolist() == [[[0.0], [2.0], [4.0], [1.0], [2.0], [3.0]],
                                  [[6.0], [8.0], [10.0], [7.0], [8.0], [9.0]]]
    _, same = subdivide(meshes, feats.reshape(6, 1))  # forward takes the homogeneous path
    assert torch.equal(same, new_feats)
    new, packed = subdivide.subdivide_heterogenerous(meshes, feats.reshape(6, 1))
    assert torch.equal(packed, new_feats.reshape(12, 1))


# -- packed / padded, KNN -------------------------------------------------------------------


def test_packed_to_padded_with_trailing_dims():
    packed = torch.arange(30.0).reshape(5, 2, 3)
    first = torch.tensor([0, 2])
    padded = packed_to_padded(packed, first, 4)
    assert padded.shape == (2, 4, 2, 3)
    assert torch.equal(padded[1, :3], packed[2:]) and padded[0, 2:].abs().sum() == 0
    assert torch.equal(padded_to_packed(padded, first, 5), packed)


def test_padded_to_packed_with_max_size_dim():
    padded = torch.arange(24.0).reshape(2, 3, 4)  # the padded axis (4) last
    packed = padded_to_packed(padded, torch.tensor([0, 2]), 5, max_size_dim=2)
    assert packed.tolist() == [[0.0, 4.0, 8.0], [1.0, 5.0, 9.0], [12.0, 16.0, 20.0],
                               [13.0, 17.0, 21.0], [14.0, 18.0, 22.0]]


def test_knn_points_takes_version():
    p1, p2 = torch.rand(1, 6, 3), torch.rand(1, 7, 3)
    ref = knn_points(p1, p2, K=2)
    for version in (-1, 0, 3):
        got = knn_points(p1, p2, K=2, version=version)
        assert torch.equal(got.idx, ref.idx) and torch.equal(got.dists, ref.dists)
    # version is PyTorch3D's 7th positional argument, before return_nn
    got = knn_points(p1, p2, None, None, 2, 2, -1, True)
    assert got.knn.shape == (1, 6, 2, 3)


# -- transforms -----------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_axis_angle_conversions_take_fast(fast):
    quarter_turn_z = torch.tensor([[0.0, 0.0, math.pi / 2]])
    matrix = axis_angle_to_matrix(quarter_turn_z, fast=fast)
    expected = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    torch.testing.assert_close(matrix, expected)
    torch.testing.assert_close(matrix_to_axis_angle(matrix, fast=fast), quarter_turn_z)


def _rotations() -> torch.Tensor:
    return random_rotations(4, torch.float64, generator=torch.Generator().manual_seed(0))


_QUAT = torch.tensor([[0.5, 0.5, -0.5, 0.5], [-0.2, 0.3, 0.1, 0.9]], dtype=torch.float64)
_SCRIPTED_CALLS = {
    "quaternion_to_matrix": (quaternion_to_matrix, lambda: (_QUAT,)),
    "matrix_to_quaternion": (matrix_to_quaternion, lambda: (_rotations(),)),
    "standardize_quaternion": (standardize_quaternion, lambda: (_QUAT,)),
    "quaternion_raw_multiply": (quaternion_raw_multiply, lambda: (_QUAT, _QUAT.flip(0))),
    "quaternion_multiply": (quaternion_multiply, lambda: (_QUAT, _QUAT.flip(0))),
    "quaternion_invert": (quaternion_invert, lambda: (_QUAT,)),
    "quaternion_apply": (quaternion_apply, lambda: (_QUAT, _QUAT[:, 1:])),
    "axis_angle_to_quaternion": (axis_angle_to_quaternion, lambda: (_QUAT[:, :3],)),
    "quaternion_to_axis_angle": (quaternion_to_axis_angle, lambda: (_QUAT,)),
    "axis_angle_to_matrix": (axis_angle_to_matrix, lambda: (_QUAT[:, :3], True)),
    "matrix_to_axis_angle": (matrix_to_axis_angle, lambda: (_rotations(), True)),
    "euler_angles_to_matrix": (euler_angles_to_matrix, lambda: (_QUAT[:, :3], "ZYX")),
    "matrix_to_euler_angles": (matrix_to_euler_angles, lambda: (_rotations(), "XYX")),
    "rotation_6d_to_matrix": (rotation_6d_to_matrix, lambda: (torch.rand(3, 6),)),
    "matrix_to_rotation_6d": (matrix_to_rotation_6d, lambda: (_rotations(),)),
    "so3_exp_map": (so3_exp_map, lambda: (_QUAT[:, :3],)),
    "so3_log_map": (so3_log_map, lambda: (_rotations(),)),
    "so3_rotation_angle": (so3_rotation_angle, lambda: (_rotations(),)),
    "so3_relative_angle": (so3_relative_angle, lambda: (_rotations(), _rotations().flip(0))),
    "hat": (hat, lambda: (_QUAT[:, :3],)),
    "hat_inv": (hat_inv, lambda: (hat(_QUAT[:, :3]),)),
    "se3_exp_map": (se3_exp_map, lambda: (torch.rand(3, 6, dtype=torch.float64),)),
    "se3_log_map": (se3_log_map, lambda: (se3_exp_map(torch.rand(3, 6, dtype=torch.float64)),)),
}


_NO_SCRIPT_WARNING = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@_NO_SCRIPT_WARNING
@pytest.mark.parametrize("name", list(_SCRIPTED_CALLS))
def test_rotation_functions_script(name):
    fn, make_args = _SCRIPTED_CALLS[name]
    args = make_args()
    scripted = torch.jit.script(fn)
    torch.testing.assert_close(scripted(*args), fn(*args), rtol=0, atol=0)


@_NO_SCRIPT_WARNING
def test_random_rotations_script_with_a_generator():
    scripted = torch.jit.script(random_rotations)
    got = scripted(3, torch.float64, "cpu", torch.Generator().manual_seed(1))
    ref = random_rotations(3, torch.float64, "cpu", torch.Generator().manual_seed(1))
    assert torch.equal(got, ref)


@_NO_SCRIPT_WARNING
def test_scripted_checks_still_raise():
    with pytest.raises(Exception, match=r"quaternions must be a floating-point tensor of shape"):
        torch.jit.script(quaternion_to_matrix)(torch.zeros(2, 3))
