"""Model folders: registration with ComfyUI's folder_paths, listing, resolving, queue-time checks.

Every node that reads a model file or folder goes through here, so names resolve the same way
(safely inside the models folders) and a missing model is reported the same way: what is
missing, where it was searched, and what to put there.
"""
from __future__ import annotations

import json
import os
from typing import Callable, Iterable

import folder_paths

from .errors import ModelNotFoundError

#: folder name -> (default sub-folder of ComfyUI's models dir, accepted extensions)
MODEL_FOLDERS: dict[str, tuple[str, set[str]]] = {
    # "inpaint" is where the earlier BrushNet pack (and Acly's inpaint nodes) keep files.
    "inpaint": ("inpaint", {".safetensors", ".bin", ".pt", ".pth", ".json"}),
    "brushnet": ("brushnet", {".safetensors", ".bin", ".pt", ".pth", ".json"}),
    "grounding-dino": ("grounding-dino", {".pth", ".safetensors", ".json", ".bin", ".py"}),
    "sams": ("sams", {".pth", ".safetensors", ".json", ".bin"}),
    "LLM": ("LLM", {".safetensors", ".json", ".bin", ".gguf"}),
}

#: where BrushNet and PowerPaint files are looked for, in this order
BRUSHNET_FOLDERS = ("inpaint", "brushnet")
#: ComfyUI's text encoder folder (models/text_encoders and the legacy models/clip)
TEXT_ENCODER_FOLDERS = ("text_encoders",)
#: learned pre-fill models (big-lama, MAT)
INPAINT_MODEL_FOLDERS = ("inpaint",)
#: Hugging Face model folders of the local planners
LLM_FOLDERS = ("LLM",)

#: what a folder seen while listing is: a model folder to list (True), a model folder of another
#: kind whose files are hidden (False), or no model folder: its files are listed one by one (None)
FolderKind = Callable[[str], "bool | None"]


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


def _search_paths(folders: Iterable[str]) -> list[str]:
    paths: list[str] = []
    for folder in folders:
        try:
            paths += [p for p in folder_paths.get_folder_paths(folder) if p not in paths]
        except KeyError:
            continue
    return paths


def list_models(folders: Iterable[str], extensions: Iterable[str] = (), folder_kind: FolderKind | None = None) -> list[str]:
    """Relative names of the model files (ending in one of ``extensions``) and model folders.

    ``folder_kind`` decides for each folder holding listed files whether the folder itself is the
    model (shown by its relative name, its files hidden); without it only files are listed.
    """
    exts = tuple(e.lower() for e in extensions)
    names: set[str] = set()
    for folder in folders:
        try:
            files = folder_paths.get_filename_list(folder)
        except KeyError:
            continue
        for rel in files:  # names as ComfyUI lists them (its own loaders' convention for saved values)
            parent = os.path.dirname(rel)
            kind = None
            if folder_kind is not None and parent:
                full = folder_paths.get_full_path(folder, rel)
                kind = folder_kind(os.path.dirname(full)) if full else None
            if kind is True:
                names.add(parent)
            elif kind is None and exts and rel.lower().endswith(exts):
                names.add(rel)
    return sorted(names)


def resolve_model(folders: Iterable[str], name: str, *, what: str, fix: str,
                  accept: Callable[[str], bool] = os.path.isfile) -> str:
    """The absolute path of ``name`` (a file, or what ``accept`` takes) in the first folder holding it.

    ``name`` is taken relative to each models folder and cannot leave it ('..' is dropped, as
    ComfyUI's own get_full_path does).
    """
    folders = tuple(folders)
    rel = os.path.relpath(os.path.join("/", str(name)), "/")
    for base in _search_paths(folders):
        path = os.path.join(base, rel)
        if accept(path):
            return path
    raise ModelNotFoundError(f"{what} '{name}' not found in {_search_paths(folders)}: {fix}")


def check_model(folders: Iterable[str], name: str, **how) -> bool | str:
    """For ``validate_inputs``: True when :func:`resolve_model` finds it, else its message.

    ComfyUI does not check V3 combo values against the list, so a missing model (a workflow from
    another machine, an API prompt) is rejected here at queue time, naming the file and the fix.
    """
    try:
        resolve_model(folders, name, **how)
    except ModelNotFoundError as err:
        return str(err)
    return True


def hf_model_type(path: str) -> str | None:
    """The ``model_type`` of a Hugging Face model folder (its config.json); None when it is not one."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return None
    try:
        with open(config, encoding="utf-8") as fh:
            return str(json.load(fh).get("model_type", ""))
    except (OSError, ValueError):
        return ""

