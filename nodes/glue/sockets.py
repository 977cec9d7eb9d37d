"""The pack's custom socket types, declared once. The names are saved in workflows: never rename."""
from comfy_api.latest import io

#: A loaded BrushNet or PowerPaint BrushNet (a ModelPatcher around the branch); the earlier pack's name.
BrushNetModelType = io.Custom("BRMODEL")
#: Crop rectangles [x, y, w, h, W, H, cw, ch] per item (Cut/Crop For Inpaint -> Blend/Stitch); the earlier pack's name.
VectorType = io.Custom("VECTOR")
#: A planner backend (brushnet_core.planner.backend) for BrushEdit Planner.
PlannerType = io.Custom("BRUSHEDIT_PLANNER")
#: An EditPlan from BrushEdit Planner.
PlanType = io.Custom("BRUSHEDIT_PLAN")
#: GroundingDINO under model management (glue.managed.ManagedModel).
GroundingDinoType = io.Custom("BRUSHEDIT_GROUNDING_DINO")
#: Segment Anything under model management (glue.managed.ManagedModel).
SamType = io.Custom("BRUSHEDIT_SAM")
#: big-lama or MAT for Pre-fill (glue.managed.ManagedModel).
InpaintModelType = io.Custom("BRUSHEDIT_INPAINT_MODEL")
