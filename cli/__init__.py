"""The r3d command-line interface (installed as ``r3d.cli``)."""
