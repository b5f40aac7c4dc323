"""The public API keeps every name it exported before the restructuring into layers:
PyTorch3D-style code imports these names from these packages."""

import importlib

import pytest

EXPORTS = {
    "r3d.structures": [
        "Meshes", "Pointclouds", "Volumes", "join_meshes_as_batch", "join_meshes_as_scene",
        "join_pointclouds_as_batch", "join_pointclouds_as_scene", "list_to_packed",
        "list_to_padded", "packed_to_list", "padded_to_list"
    ],
    "r3d.ops": [
        "GraphConv", "ICPSolution", "SimilarityTransform", "SubdivideMeshes",
        "add_pointclouds_to_volumes", "add_points_features_to_volume_densities_features",
        "ball_query", "corresponding_points_alignment", "cot_laplacian", "cubify",
        "edge_point_distance", "estimate_pointcloud_local_coord_frames",
        "estimate_pointcloud_normals",
        "face_point_distance", "gather_scatter", "interpolate_face_attributes",
        "iterative_closest_point", "knn_gather", "knn_points", "laplacian", "marching_cubes",
        "mesh_face_areas_normals", "norm_laplacian", "packed_to_padded", "padded_to_packed",
        "point_edge_distance", "point_face_distance", "sample_farthest_points",
        "sample_points_from_meshes", "taubin_smoothing", "vert_align", "volumes_to_meshes",
        "box3d_overlap", "convert_pointclouds_to_tensor", "corresponding_cameras_alignment",
        "efficient_pnp", "eyes", "get_point_covariances", "is_pointclouds", "wmean"
    ],
    "r3d.loss": [
        "chamfer_distance", "mesh_edge_loss", "mesh_laplacian_smoothing", "mesh_normal_consistency",
        "point_mesh_edge_distance", "point_mesh_face_distance", "silhouette_iou_loss"
    ],
    "r3d.renderer": [
        "AbsorptionOnlyRaymarcher", "AlphaCompositor", "AmbientLights", "BlendParams",
        "CamerasBase", "DepthShader", "DirectionalLights", "EmissionAbsorptionRaymarcher",
        "FoVOrthographicCameras", "FoVPerspectiveCameras", "Fragments", "GridRaysampler",
        "HarmonicEmbedding", "HeterogeneousRayBundle", "ImplicitRenderer",
        "MonteCarloRaysampler", "MultinomialRaysampler", "NDCGridRaysampler",
        "NDCMultinomialRaysampler", "RayBundle", "VolumeRenderer", "VolumeSampler",
        "ray_bundle_to_ray_points", "ray_bundle_variables_to_ray_points",
        "HardFlatShader", "HardGouraudShader", "HardPhongShader", "Materials", "MeshRasterizer",
        "MeshRenderer", "MeshRendererWithFragments", "NormWeightedCompositor", "NormalShader",
        "OrthographicCameras", "PerspectiveCameras", "PointFragments", "PointLights",
        "PointsRasterizationSettings", "PointsRasterizer", "PointsRenderer",
        "PointsRendererWithFragments", "RasterizationSettings", "ShaderBase", "SilhouetteShader",
        "SoftGouraudShader", "SoftPhongShader", "SoftSilhouetteShader", "TexturesAtlas",
        "TexturesBase", "TexturesUV", "TexturesVertex", "alpha_composite",
        "camera_position_from_spherical_angles", "cameras_from_opencv_projection", "flat_shading",
        "get_ndc_to_screen_transform", "get_screen_to_ndc_transform", "get_world_to_view_transform",
        "gouraud_shading", "hard_rgb_blend", "look_at_rotation", "look_at_view_transform",
        "norm_weighted_sum", "opencv_from_cameras_projection", "phong_shading", "rasterize_meshes",
        "rasterize_points", "sigmoid_alpha_blend", "softmax_rgb_blend", "weighted_sum",
        "SplatterBlender", "SplatterPhongShader", "convert_to_tensors_and_broadcast",
        "ndc_grid_sample", "ndc_to_grid_sample_coords", "rotate_on_spot"
    ],
    "r3d.transforms": [
        "Rotate", "RotateAxisAngle", "Scale", "Transform3d", "Translate", "axis_angle_to_matrix",
        "axis_angle_to_quaternion", "euler_angles_to_matrix", "hat", "hat_inv",
        "matrix_to_axis_angle", "matrix_to_euler_angles", "matrix_to_quaternion",
        "matrix_to_rotation_6d", "quaternion_apply", "quaternion_invert", "quaternion_multiply",
        "quaternion_raw_multiply", "quaternion_to_axis_angle", "quaternion_to_matrix",
        "random_quaternions", "random_rotation", "random_rotations", "rotation_6d_to_matrix",
        "se3_exp_map", "se3_log_map", "so3_exp_map", "so3_log_map", "so3_relative_angle",
        "so3_rotation_angle", "standardize_quaternion",
        "acos_linear_extrapolation", "so3_exponential_map"
    ],
    "r3d.io": [
        "IO", "MeshFormatInterpreter", "PointcloudFormatInterpreter", "VoxelFormatInterpreter",
        "VoxelGrid", "atomic_open", "atomic_paths", "load_binvox", "load_gltf", "load_obj",
        "load_objs_as_meshes", "load_off", "load_ply", "load_stl", "load_voxels_npz",
        "save_binvox", "save_gltf", "save_obj", "save_off", "save_ply", "save_stl",
        "save_voxels_npz"
    ],
    "r3d.utils": [
        "ico_sphere", "torus",
        "checkerboard"
    ],
    "r3d.renderer.mesh": [
        "DepthShader", "Fragments", "HardFlatShader", "HardGouraudShader", "HardPhongShader",
        "MeshRasterizer", "MeshRenderer", "MeshRendererWithFragments", "NormalShader",
        "RasterizationSettings", "ShaderBase", "SilhouetteShader", "SoftGouraudShader",
        "SoftPhongShader", "SoftSilhouetteShader", "TexturesAtlas", "TexturesBase", "TexturesUV",
        "TexturesVertex", "flat_shading", "gouraud_shading", "phong_shading", "rasterize_meshes",
        "rasterize_meshes_torch",
        "SplatterPhongShader"
    ],
    "r3d.renderer.implicit": [
        "AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher", "GridRaysampler",
        "HarmonicEmbedding", "HeterogeneousRayBundle", "ImplicitRenderer", "MonteCarloRaysampler",
        "MultinomialRaysampler", "NDCGridRaysampler", "NDCMultinomialRaysampler", "RayBundle",
        "VolumeRenderer", "VolumeSampler", "ray_bundle_to_ray_points",
        "ray_bundle_variables_to_ray_points"
    ],
    "r3d.renderer.points": [
        "AlphaCompositor", "NormWeightedCompositor", "PointFragments",
        "PointsRasterizationSettings", "PointsRasterizer", "PointsRenderer",
        "PointsRendererWithFragments", "alpha_composite", "norm_weighted_sum", "rasterize_points",
        "rasterize_points_torch", "weighted_sum"
    ],
}


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_package_exports_every_name(package):
    module = importlib.import_module(package)
    missing = [name for name in EXPORTS[package] if not hasattr(module, name)]
    assert not missing, f"{package} no longer exports {missing}"
    assert set(EXPORTS[package]) <= set(module.__all__)
