"""The BrushNet branch: config, model, checkpoint reading, the per-step runner and the feature injection plan."""
