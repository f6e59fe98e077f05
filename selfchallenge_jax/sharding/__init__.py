"""Mesh construction and the logical-axis rule table."""

from selfchallenge_jax.sharding.mesh import MESH_AXES, make_mesh, resolve_mesh_shape
from selfchallenge_jax.sharding.rules import (RULES, SAMPLING_RULES, constrain, logical_to_spec,
                                              named_sharding,
                                              tree_shardings)

__all__ = ["MESH_AXES", "RULES", "SAMPLING_RULES", "constrain", "logical_to_spec", "make_mesh", "named_sharding",
           "resolve_mesh_shape", "tree_shardings"]
