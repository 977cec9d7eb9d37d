"""Custom ComfyUI socket types of the pack, declared once."""
from comfy_api.latest import io

#: A loaded BrushNet (a ModelPatcher around brushnet_core.branch.model.BrushNetModel); the earlier pack's name.
BrushNetModelType = io.Custom("BRMODEL")
#: Crop rectangle from CutForInpaint, consumed by BlendInpaint; the earlier pack's name.
VectorType = io.Custom("VECTOR")
