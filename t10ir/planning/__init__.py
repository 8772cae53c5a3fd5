"""Plain-Python planning: iteration domains, plans, layouts, schedules, the per-op plan
search and the whole-model selection. Nothing here imports a dialect, a pass or a tool."""
