"""Networks that predict shapes from images: a ResNet-style encoder, a mesh head and a
point-cloud head (the models of the PyTorch3D paper's single-view experiments)."""

from r3d.models.encoder import ImageEncoder, ResidualBlock
from r3d.models.heads import MeshHead, MeshRefinementStage, PointsHead, image_sample_positions

__all__ = [
    "ImageEncoder",
    "MeshHead",
    "MeshRefinementStage",
    "PointsHead",
    "ResidualBlock",
    "image_sample_positions",
]
