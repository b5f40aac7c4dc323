"""``r3d fit``: optimisation by rendering from multi-view input."""
