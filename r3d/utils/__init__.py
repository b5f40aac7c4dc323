"""Ready-made meshes."""

from r3d.utils.checkerboard import checkerboard
from r3d.utils.ico_sphere import ico_sphere
from r3d.utils.torus import torus

__all__ = ["checkerboard", "ico_sphere", "torus"]
