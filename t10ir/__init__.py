"""T10ir: an MLIR-style compiler on xDSL for inter-core connected AI chips."""
