"""The earlier ComfyUI-BrushNet pack's example workflows, run here (see test_earlier_pack_workflows.py)."""
