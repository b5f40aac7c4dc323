"""Surface materials: how much ambient, diffuse and specular light a surface reflects."""

from __future__ import annotations

from r3d.renderer.properties import TensorProperties

__all__ = ["Materials"]


class Materials(TensorProperties):
    """Phong reflection coefficients (PyTorch3D's defaults).

    Args:
        ambient_color, diffuse_color, specular_color: (3,) or (N, 3) per-channel reflectance.
        shininess: number or (N,), the specular exponent.
        device: where the parameters live.
    """

    def __init__(
        self,
        ambient_color=((1.0, 1.0, 1.0),),
        diffuse_color=((1.0, 1.0, 1.0),),
        specular_color=((1.0, 1.0, 1.0),),
        shininess=64,
        device=None,
    ) -> None:
        super().__init__(
            device, ambient_color=(ambient_color, (3,)), diffuse_color=(diffuse_color, (3,)),
            specular_color=(specular_color, (3,)), shininess=(shininess, ()),
        )
