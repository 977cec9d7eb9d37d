"""Load GroundingDINO / SAM from original checkpoints or Hugging Face folders, offline only."""
from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
from typing import Any, Callable, Iterable

import torch

from . import dino_convert, sam_convert
from .detect import CLS_ID, DOT_ID, SEP_ID, DinoBundle
from .errors import TextMaskError, TextMaskModelNotFound
from .segment import IMAGENET_MEAN, IMAGENET_STD, SamBundle

log = logging.getLogger(__name__)

StateDictReader = Callable[[str], dict[str, Any]]
SAM_CLASSES = {"sam": "SamModel", "sam_hq": "SamHQModel", "sam2": "Sam2Model"}
VOCAB_FILES = ("tokenizer.json", "vocab.txt")


def read_state_dict(path: str) -> dict[str, Any]:
    """Weights of a .safetensors or a .pth/.pt/.bin file (pickles only with ``weights_only=True``)."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path, device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise TextMaskError(f"Could not read {path} as a weights-only torch checkpoint: {exc}") from exc


def is_hf_folder(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json"))


def _model_type(folder: str) -> str:
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as fh:
        return str(json.load(fh).get("model_type", ""))


def _no_init_weights() -> Callable[[], Any]:
    """transformers' context manager that skips random init (``modeling_utils`` in 4.x, ``initialization``
    in 5.x; looked up by feature). Without it the model is randomly initialised first: slower, same result."""
    for module in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            return getattr(importlib.import_module(module), "no_init_weights")
        except (ImportError, AttributeError):
            continue
    return contextlib.nullcontext


def _instantiate(cls: Any, config: Any) -> Any:
    """``cls(config)`` without spending time on a random init that the checkpoint overwrites."""
    with _no_init_weights()():
        return cls(config)


def _ignorable_missing(model: torch.nn.Module, missing: Iterable[str]) -> set[str]:
    """Missing keys that the model (or one of its sub-models) declares optional with
    ``_keys_to_ignore_on_load_missing`` (e.g. transformers 5's unused ``swin.layernorm`` in the backbone)."""
    rules = []
    for prefix, module in model.named_modules():
        for pattern in getattr(module, "_keys_to_ignore_on_load_missing", None) or ():
            rules.append((f"{prefix}." if prefix else "", re.compile(pattern)))
    return {k for k in missing for prefix, rx in rules if k.startswith(prefix) and rx.search(k[len(prefix):])}


def _load_checked(model: torch.nn.Module, sd: dict[str, torch.Tensor], what: str) -> Any:
    """Load ``sd`` into ``model``; every parameter must come from ``sd`` except buffers built in __init__
    and the keys the model itself declares optional (those get their module's default init)."""
    buffers = {name for name, _ in model.named_buffers()}
    missing, _unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in buffers]
    optional = _ignorable_missing(model, missing)
    missing = [k for k in missing if k not in optional]
    if missing:
        raise TextMaskError(
            f"Unknown {what} variant: {len(missing)} weights are missing after conversion "
            f"(e.g. {', '.join(missing[:3])}). The file may be a different model or a newer release."
        )
    for owner in sorted({k.rpartition(".")[0] for k in optional}):
        module = model.get_submodule(owner)
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()  # not random for the norms this is used for: ones / zeros
        else:
            with torch.no_grad():
                for p in module.parameters(recurse=False):
                    p.zero_()
    if optional:
        log.debug("[BrushEdit] %s: %d optional weights not in the file (e.g. %s)", what, len(optional),
                  sorted(optional)[:2])
    return model.eval()


def _build_from_state_dict(cls: Any, config: Any, sd: dict[str, torch.Tensor], what: str) -> Any:
    """Instantiate without random init, load ``sd`` strictly except for buffers built in __init__."""
    return _load_checked(_instantiate(cls, config), sd, what)


# ----------------------------------------------------------------------------- SAM


def image_processor_config(folder: str) -> dict[str, Any]:
    """The image-processor settings of a Hugging Face folder: ``preprocessor_config.json`` (published
    repositories, transformers 4 saves) or the ``image_processor`` part of ``processor_config.json``
    (what transformers 5 writes instead). Empty when neither is there."""
    path = os.path.join(folder, "preprocessor_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return dict(json.load(fh))
    path = os.path.join(folder, "processor_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh).get("image_processor")
        return dict(cfg) if isinstance(cfg, dict) else {}
    return {}


def _sam_preprocessor(folder: str, bundle: SamBundle) -> None:
    cfg = image_processor_config(folder)
    if not cfg:
        return
    bundle.mean = tuple(cfg.get("image_mean", IMAGENET_MEAN))
    bundle.std = tuple(cfg.get("image_std", IMAGENET_STD))
    size = cfg.get("size") or {}
    bundle.image_size = int(size.get("longest_edge") or size.get("height") or bundle.image_size)


def original_two_way_eps(model: torch.nn.Module, eps: float = sam_convert.TWO_WAY_LN_EPS) -> int:
    """Set the LayerNorm eps of the mask decoder's two-way transformer to the original's (segment-anything
    and SAM-HQ use ``nn.LayerNorm`` defaults there, 1e-5; transformers' SAM / SAM-HQ configs, published
    folders included, say 1e-6). Returns how many norms changed (SAM 2 already uses 1e-5: none)."""
    decoder = getattr(getattr(model, "mask_decoder", None), "transformer", None)
    if decoder is None:
        return 0
    changed = 0
    for module in decoder.modules():
        if type(module) is torch.nn.LayerNorm and module.eps != eps:
            module.eps = eps
            changed += 1
    cfg = getattr(getattr(model, "config", None), "mask_decoder_config", None)
    if changed and cfg is not None and hasattr(cfg, "layer_norm_eps"):
        cfg.layer_norm_eps = eps
    return changed


def load_sam(path: str, reader: StateDictReader = read_state_dict, original_eps: bool = True) -> SamBundle:
    """SAM / SAM-HQ / SAM 2 from a Hugging Face folder, or original SAM from a .pth/.safetensors file.

    ``original_eps``: a Hugging Face SAM / SAM-HQ folder's two-way transformer gets the original's
    LayerNorm eps (:func:`original_two_way_eps`); False keeps the folder's config as it is.
    """
    import transformers

    if os.path.isdir(path):
        if not is_hf_folder(path):
            raise TextMaskModelNotFound(f"{path} is a folder without config.json; a Hugging Face SAM folder needs "
                                        "config.json and model.safetensors.")
        kind = _model_type(path)
        if kind not in SAM_CLASSES:
            raise TextMaskError(f"{path}/config.json has model_type {kind!r}; expected one of {sorted(SAM_CLASSES)}.")
        cls = getattr(transformers, SAM_CLASSES[kind])
        model = cls.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval()
        if original_eps and (changed := original_two_way_eps(model)):
            log.info("[BrushEdit] %s: mask decoder LayerNorm eps set to the original's %g (%d norms)", path,
                     sam_convert.TWO_WAY_LN_EPS, changed)
        size = getattr(getattr(model.config, "vision_config", None), "image_size", None) or 1024
        bundle = SamBundle(model=model, kind=kind, image_size=int(size), source=path, variant=kind)
        _sam_preprocessor(path, bundle)
        return bundle
    if not os.path.isfile(path):
        raise TextMaskModelNotFound(f"SAM model not found: {path}")
    sd = reader(path)
    if any(k.startswith("vision_encoder.") for k in sd):
        raise TextMaskError(f"{os.path.basename(path)} holds Hugging Face-layout SAM weights without their config; "
                            "put it in a folder with its config.json (and preprocessor_config.json) "
                            "under models/sams/.")
    sam_convert.check_supported(sd, path)
    variant, cfg = sam_convert.sam_config_dict(sd)
    config = transformers.SamConfig(**cfg)
    model = _build_from_state_dict(transformers.SamModel, config, sam_convert.convert_sam_state_dict(sd), "SAM")
    log.info("[BrushEdit] SAM %s loaded from %s", variant, path)
    bundle = SamBundle(model=model, kind="sam", image_size=config.vision_config.image_size, source=path,
                       variant=variant)
    mean, std = sd.get("pixel_mean"), sd.get("pixel_std")  # the file's own normalisation (0-255 scale)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor) and mean.numel() == std.numel() == 3:
        bundle.mean = tuple(float(v) / 255 for v in mean.double().flatten())
        bundle.std = tuple(float(v) / 255 for v in std.double().flatten())
    return bundle


# ----------------------------------------------------------------------------- GroundingDINO


def find_vocab_dir(candidates: Iterable[str]) -> str | None:
    """First folder among ``candidates`` holding a BERT tokenizer (tokenizer.json or vocab.txt)."""
    for folder in candidates:
        if folder and os.path.isdir(folder) and any(os.path.isfile(os.path.join(folder, f)) for f in VOCAB_FILES):
            return folder
    return None


def load_tokenizer(folder: str) -> Any:
    """BERT (uncased) tokenizer from a local folder; checks the ids GroundingDINO hard-codes."""
    import transformers

    if any(os.path.isfile(os.path.join(folder, f)) for f in ("tokenizer.json", "tokenizer_config.json")):
        tok = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    else:
        vocab_file = os.path.join(folder, "vocab.txt")
        tok = transformers.BertTokenizer(vocab_file=vocab_file, do_lower_case=True)
        with open(vocab_file, encoding="utf-8") as fh:
            lines = sum(1 for _ in fh)
        if len(getattr(tok, "vocab", {})) < lines:  # transformers 5 ignores vocab_file= and needs vocab=
            with open(vocab_file, encoding="utf-8") as fh:
                vocab = {line.rstrip("\n"): i for i, line in enumerate(fh)}
            tok = transformers.BertTokenizer(vocab=vocab, do_lower_case=True)
    ids = tok.convert_tokens_to_ids(["[CLS]", "[SEP]", "."])
    if ids != [CLS_ID, SEP_ID, DOT_ID]:
        raise TextMaskError(
            f"The tokenizer in {folder} is not bert-base-uncased: [CLS], [SEP] and '.' have ids {ids}, "
            f"GroundingDINO needs {[CLS_ID, SEP_ID, DOT_ID]}. Use the vocab.txt of bert-base-uncased."
        )
    return tok


def _vocab_error(path: str, searched: list[str]) -> TextMaskModelNotFound:
    where = "\n  ".join(searched)
    return TextMaskModelNotFound(
        "GroundingDINO's original checkpoint uses the bert-base-uncased text encoder, whose vocabulary must be "
        f"available offline. Put bert-base-uncased's vocab.txt (or tokenizer.json) next to the checkpoint "
        f"({os.path.join(os.path.dirname(path), 'vocab.txt')}) or into models/bert-base-uncased/. Searched:\n  {where}"
    )


def load_grounding_dino(path: str, vocab_dirs: Iterable[str] = (), reader: StateDictReader = read_state_dict) -> DinoBundle:
    """GroundingDINO from a Hugging Face folder or an original .pth (vocab looked up in ``vocab_dirs``)."""
    import transformers

    if os.path.isdir(path):
        if not is_hf_folder(path):
            raise TextMaskModelNotFound(f"{path} is a folder without config.json; a Hugging Face GroundingDINO folder "
                                        "needs config.json, model.safetensors and its tokenizer files.")
        if _model_type(path) != "grounding-dino":
            raise TextMaskError(f"{path}/config.json has model_type {_model_type(path)!r}, not 'grounding-dino'.")
        if find_vocab_dir([path]) is None:
            raise TextMaskModelNotFound(f"{path} has no tokenizer vocabulary (tokenizer.json or vocab.txt); copy "
                                        "the tokenizer files of the model (e.g. from "
                                        "IDEA-Research/grounding-dino-tiny) there.")
        tok = load_tokenizer(path)
        model = transformers.GroundingDinoForObjectDetection.from_pretrained(
            path, local_files_only=True, dtype=torch.float32
        ).eval()
        bundle = DinoBundle(model=model, tokenizer=tok, source=path, variant="hf")
        _dino_preprocessor(path, bundle)
        return bundle
    if not os.path.isfile(path):
        raise TextMaskModelNotFound(f"GroundingDINO model not found: {path}")
    stem = os.path.splitext(path)[0]
    searched = [os.path.dirname(path), stem, os.path.join(os.path.dirname(path), "bert-base-uncased"), *vocab_dirs]
    vocab_dir = find_vocab_dir(searched)
    if vocab_dir is None:
        raise _vocab_error(path, searched)
    sd = dino_convert.unwrap(reader(path))
    if not dino_convert.is_original_gdino(sd):
        sample = ", ".join(sorted(sd)[:4])
        raise TextMaskError(f"Not a GroundingDINO checkpoint: {path} (expected keys 'backbone.0.*' and "
                            f"'transformer.*', found e.g. {sample}). Use groundingdino_swint_ogc.pth / "
                            "groundingdino_swinb_cogcoor.pth or a Hugging Face GroundingDINO folder.")
    variant, cfg = dino_convert.gdino_config_dict(sd)
    config = transformers.GroundingDinoConfig(**cfg)
    model = _instantiate(transformers.GroundingDinoForObjectDetection, config)
    converted, unused = dino_convert.convert_gdino_state_dict(sd, model.state_dict().keys())
    if unused:
        log.debug("[BrushEdit] GroundingDINO: %d original keys not used (e.g. %s)", len(unused), unused[:3])
    model = _load_checked(model, converted, "GroundingDINO")
    log.info("[BrushEdit] GroundingDINO %s loaded from %s (vocabulary from %s)", variant, path, vocab_dir)
    return DinoBundle(model=model, tokenizer=load_tokenizer(vocab_dir), source=path, variant=variant)


def _dino_preprocessor(folder: str, bundle: DinoBundle) -> None:
    cfg = image_processor_config(folder)
    if cfg:
        size = cfg.get("size") or {}
        bundle.short_side = int(size.get("shortest_edge", bundle.short_side))
        bundle.max_side = int(size.get("longest_edge", bundle.max_side))
