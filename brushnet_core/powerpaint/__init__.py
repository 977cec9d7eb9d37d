"""PowerPaint v2: its BrushNet variant (model), its task tokens (tokens) and its per-step runner."""
