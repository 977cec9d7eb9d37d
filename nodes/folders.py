"""Model folder registration with ComfyUI's folder_paths (idempotent, keeps user paths)."""
from __future__ import annotations

import os

import folder_paths

#: folder name -> (default sub-folder of ComfyUI's models dir, accepted extensions)
MODEL_FOLDERS: dict[str, tuple[str, set[str]]] = {
    # "inpaint" is where the earlier BrushNet pack (and Acly's inpaint nodes) keep files.
    "inpaint": ("inpaint", {".safetensors", ".bin", ".pt", ".pth", ".json"}),
    "brushnet": ("brushnet", {".safetensors", ".bin", ".pt", ".pth", ".json"}),
    "grounding-dino": ("grounding-dino", {".pth", ".safetensors", ".json", ".bin", ".py"}),
    "sams": ("sams", {".pth", ".safetensors", ".json", ".bin"}),
    "LLM": ("LLM", {".safetensors", ".json", ".bin", ".gguf"}),
}


def register_model_folders() -> None:
    """Add our folders without dropping paths the user set in extra_model_paths.yaml."""
    for name, (sub, exts) in MODEL_FOLDERS.items():
        default = os.path.join(folder_paths.models_dir, sub)
        entry = folder_paths.folder_names_and_paths.get(name)
        if entry is None:
            folder_paths.folder_names_and_paths[name] = ([default], set(exts))
            continue
        paths, known_exts = entry
        if default not in paths:
            paths.append(default)
        if isinstance(known_exts, set):
            known_exts.update(exts)
