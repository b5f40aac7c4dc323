"""3D transforms: rotation conversions, SO(3) and SE(3) maps, and batched Transform3d objects.

Names, shapes and conventions follow PyTorch3D's ``pytorch3d.transforms``.
"""

from r3d.transforms.math import acos_linear_extrapolation
from r3d.transforms.rotation_conversions import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_angles_to_matrix,
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
    random_quaternions,
    random_rotation,
    random_rotations,
    rotation_6d_to_matrix,
    standardize_quaternion,
)
from r3d.transforms.se3 import se3_exp_map, se3_log_map
from r3d.transforms.so3 import (
    hat,
    hat_inv,
    so3_exp_map,
    so3_exponential_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
)
from r3d.transforms.transform3d import Rotate, RotateAxisAngle, Scale, Transform3d, Translate

__all__ = [
    "Rotate",
    "RotateAxisAngle",
    "Scale",
    "Transform3d",
    "Translate",
    "acos_linear_extrapolation",
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "euler_angles_to_matrix",
    "hat",
    "hat_inv",
    "matrix_to_axis_angle",
    "matrix_to_euler_angles",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "quaternion_apply",
    "quaternion_invert",
    "quaternion_multiply",
    "quaternion_raw_multiply",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "random_quaternions",
    "random_rotation",
    "random_rotations",
    "rotation_6d_to_matrix",
    "se3_exp_map",
    "se3_log_map",
    "so3_exp_map",
    "so3_exponential_map",
    "so3_log_map",
    "so3_relative_angle",
    "so3_rotation_angle",
    "standardize_quaternion",
]
