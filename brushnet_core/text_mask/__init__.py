"""Text -> mask: GroundingDINO boxes + SAM masks on transformers' models (no torchvision needed).

Submodules: ``sam_convert`` / ``dino_convert`` (original checkpoint key conversion), ``loading``
(files and Hugging Face folders, offline), ``detect`` (text -> boxes), ``segment`` (boxes -> masks,
embedding cache), ``original`` (the original pipeline's resize and reference-box eps),
``sam_attention`` (blockwise SAM encoder attention), ``lru`` (the small caches), ``pipeline`` (batch,
modes, info, preview). transformers is imported lazily.
"""
from .detect import Detection, DetectOptions, DinoBundle, split_phrases
from .pipeline import MODES, draw_preview, text_to_masks
from .segment import SamBundle

__all__ = ["DetectOptions", "Detection", "DinoBundle", "MODES", "SamBundle", "draw_preview", "split_phrases",
           "text_to_masks"]
