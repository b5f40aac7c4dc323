"""Differentiable operators with native kernels and pure-PyTorch fallbacks.

The tensor kernels that the data structures compute with (packing, face areas and normals,
Laplacians, face-attribute interpolation) live in :mod:`r3d.structures` and are exported here
under PyTorch3D's names."""

from r3d.ops.ball_query import ball_query
from r3d.ops.cameras_alignment import corresponding_cameras_alignment
from r3d.ops.cubify import cubify
from r3d.ops.graph_conv import GraphConv, gather_scatter
from r3d.ops.iou_box3d import box3d_overlap
from r3d.ops.knn import knn_gather, knn_points
from r3d.ops.marching_cubes import marching_cubes
from r3d.ops.mesh_filtering import taubin_smoothing
from r3d.ops.perspective_n_points import efficient_pnp
from r3d.ops.point_mesh import (
    edge_point_distance,
    face_point_distance,
    point_edge_distance,
    point_face_distance,
)
from r3d.ops.points_alignment import (
    ICPSolution,
    SimilarityTransform,
    corresponding_points_alignment,
    iterative_closest_point,
)
from r3d.ops.points_normals import (
    estimate_pointcloud_local_coord_frames,
    estimate_pointcloud_normals,
)
from r3d.ops.points_to_volumes import (
    add_pointclouds_to_volumes,
    add_points_features_to_volume_densities_features,
)
from r3d.ops.sample_farthest_points import sample_farthest_points
from r3d.ops.sample_points_from_meshes import sample_points_from_meshes
from r3d.ops.subdivide_meshes import SubdivideMeshes
from r3d.ops.utils import (
    convert_pointclouds_to_tensor,
    eyes,
    get_point_covariances,
    is_pointclouds,
    wmean,
)
from r3d.ops.vert_align import vert_align
from r3d.ops.volume_rendering import emission_absorption_grid
from r3d.ops.volumes_conversion import volumes_to_meshes
from r3d.ops.voxelize import VoxelGrids, voxelize_meshes
from r3d.structures.interp_face_attrs import interpolate_face_attributes
from r3d.structures.laplacian_matrices import cot_laplacian, laplacian, norm_laplacian
from r3d.structures.mesh_face_areas_normals import mesh_face_areas_normals
from r3d.structures.packed_padded import packed_to_padded, padded_to_packed

__all__ = [
    "add_pointclouds_to_volumes",
    "add_points_features_to_volume_densities_features",
    "GraphConv",
    "ICPSolution",
    "SimilarityTransform",
    "SubdivideMeshes",
    "VoxelGrids",
    "ball_query",
    "box3d_overlap",
    "convert_pointclouds_to_tensor",
    "corresponding_cameras_alignment",
    "corresponding_points_alignment",
    "cot_laplacian",
    "cubify",
    "edge_point_distance",
    "efficient_pnp",
    "emission_absorption_grid",
    "estimate_pointcloud_local_coord_frames",
    "estimate_pointcloud_normals",
    "eyes",
    "face_point_distance",
    "gather_scatter",
    "get_point_covariances",
    "interpolate_face_attributes",
    "is_pointclouds",
    "iterative_closest_point",
    "knn_gather",
    "knn_points",
    "laplacian",
    "marching_cubes",
    "mesh_face_areas_normals",
    "norm_laplacian",
    "packed_to_padded",
    "padded_to_packed",
    "point_edge_distance",
    "point_face_distance",
    "sample_farthest_points",
    "sample_points_from_meshes",
    "taubin_smoothing",
    "vert_align",
    "volumes_to_meshes",
    "voxelize_meshes",
    "wmean",
]
