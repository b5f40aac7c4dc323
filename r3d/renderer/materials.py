"""Surface materials: how much ambient, diffuse and specular light a surface reflects."""

from __future__ import annotations

from r3d.renderer.properties import COLOR_PARAMS, TensorProperties

__all__ = ["Materials"]


class Materials(TensorProperties):
    """Phong reflection coefficients (PyTorch3D's defaults).

    Args:
        ambient_color, diffuse_color, specular_color: (C,) or (N, C) per-channel reflectance:
            any number of channels C (3 for RGB), the same for the three.
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
        self._init_params(
            device, ambient_color=(ambient_color, (None,)),
            diffuse_color=(diffuse_color, (None,)), specular_color=(specular_color, (None,)),
            shininess=(shininess, ()),
        )
        self._check_channels(COLOR_PARAMS)
