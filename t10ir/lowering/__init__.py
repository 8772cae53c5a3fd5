"""The lowering's helpers: sub-operators and what the cost model reads off an op."""
