"""PowerPaint's learned task prompts: reading them from the text-encoder file, and each function's prompts.

PowerPaint v2 conditions its BrushNet branch on task words only: ``P_ctxt`` (fill from context),
``P_shape`` (follow the mask shape), ``P_obj`` (generate an object), each a learned sequence of
several token vectors (10 in the release). The released ``PowerPaint_Brushnet/pytorch_model.bin``
is a CLIP text-encoder state dict saved with the vectors in an embedding wrapper:
``text_model.embeddings.token_embedding.trainable_embeddings.<word>`` ([n, 768]) next to
``...token_embedding.wrapped.weight`` and the usual ``text_model.*`` weights.

The BrushNet context of one side (positive or negative) is
``fitting * encode(prompt_a) + (1 - fitting) * encode(prompt_b)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from ..errors import BrushEditError

TASK_WORDS = ("P_ctxt", "P_shape", "P_obj")
CLIP_L_VOCAB = 49408


@dataclass(frozen=True)
class TaskPrompts:
    """What the BrushNet branch reads for one function: prompts A/B of each side (mixed by ``fitting``)."""

    positive_a: str
    positive_b: str
    negative_a: str
    negative_b: str
    #: words the authors add to the (UNet) positive prompt for this function, if any
    prompt_hint: str = ""


#: The earlier ComfyUI pack's functions (= the official app's add_task for v2, plus "context aware").
FUNCTIONS: dict[str, TaskPrompts] = {
    "text guided": TaskPrompts("P_obj", "P_obj", "P_obj", "P_obj"),
    "shape guided": TaskPrompts("P_shape", "P_ctxt", "P_shape", "P_ctxt"),
    "object removal": TaskPrompts("P_ctxt", "P_ctxt", "P_obj", "P_obj", "empty scene blur"),
    "context aware": TaskPrompts("P_ctxt", "P_ctxt", "", "", "empty scene"),
    "image outpainting": TaskPrompts("P_ctxt", "P_ctxt", "P_obj", "P_obj", "empty scene"),
}


class PowerPaintTokensError(BrushEditError, ValueError):
    """The PowerPaint text-encoder file is missing, malformed or a different file."""


@dataclass
class PowerPaintTextEncoder:
    """Task vectors by word, plus the text-encoder weights of the file in ComfyUI CLIP key names."""

    tokens: dict[str, torch.Tensor]
    weights: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(next(iter(self.tokens.values())).shape[-1])


def task_prompts(function: str) -> TaskPrompts:
    if function not in FUNCTIONS:
        raise PowerPaintTokensError(f"unknown PowerPaint function {function!r}: use one of {', '.join(FUNCTIONS)}")
    return FUNCTIONS[function]


def mix(a: torch.Tensor, b: torch.Tensor, fitting: float) -> torch.Tensor:
    """``fitting * a + (1 - fitting) * b`` (the official pipeline's tradoff)."""
    if a.shape != b.shape:
        raise PowerPaintTokensError(
            f"PowerPaint prompts A and B encode to different shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return a * fitting + (1.0 - fitting) * b


def _describe(sd: Mapping[str, Any]) -> str:
    keys = list(sd)
    if "conv_in_condition.weight" in sd:
        return ("the PowerPaint BrushNet model itself (diffusion_pytorch_model): load that with BrushNetLoader, "
                "and give this node PowerPaint_Brushnet/pytorch_model.bin")
    return f"{len(keys)} tensors, first keys {keys[:4]}"


def read_text_encoder(sd: Mapping[str, torch.Tensor], source: str = "file") -> PowerPaintTextEncoder:
    """Split a PowerPaint text-encoder state dict into task vectors and CLIP weights; clear errors otherwise.

    Also accepted: the vectors merged into the token embedding as rows after the 49408 CLIP-L rows
    (P_ctxt, P_shape, P_obj in that order, equal counts), as a re-saved resized embedding would hold them.
    """
    tokens: dict[str, torch.Tensor] = {}
    weights: dict[str, torch.Tensor] = {}
    rx = re.compile(r"(?:^|.*\.)trainable_embeddings\.(\w+)$")
    for key, value in sd.items():
        m = rx.match(key)
        if m:
            tokens[m.group(1)] = value.detach().float().reshape(-1, value.shape[-1])
            continue
        start = key.find("text_model.")
        if start < 0:
            continue
        name = key[start:].replace("token_embedding.wrapped.", "token_embedding.")
        if not name.endswith("position_ids"):
            weights[name] = value
    emb_key = "text_model.embeddings.token_embedding.weight"
    if not tokens and emb_key in weights and weights[emb_key].shape[0] > CLIP_L_VOCAB:
        extra = weights[emb_key][CLIP_L_VOCAB:].float()
        if extra.shape[0] % len(TASK_WORDS) == 0:
            tokens = dict(zip(TASK_WORDS, extra.chunk(len(TASK_WORDS))))
    if emb_key in weights and weights[emb_key].shape[0] > CLIP_L_VOCAB:
        weights[emb_key] = weights[emb_key][:CLIP_L_VOCAB]
    missing = [w for w in TASK_WORDS if w not in tokens]
    if missing:
        raise PowerPaintTokensError(
            f"{source} holds no PowerPaint task tokens {', '.join(missing)} (found: {_describe(sd)}). "
            "Pick PowerPaint_Brushnet/pytorch_model.bin, the PowerPaint text encoder with the learned task prompts."
        )
    widths = {w: int(tokens[w].shape[-1]) for w in TASK_WORDS}
    if len(set(widths.values())) != 1:
        raise PowerPaintTokensError(f"{source}: task tokens have different widths {widths}")
    return PowerPaintTextEncoder(tokens={w: tokens[w] for w in TASK_WORDS}, weights=weights)


_WORD_RX = re.compile(r"(?<![\w:])(" + "|".join(TASK_WORDS) + r")(?!\w)")


def rewrite_task_words(text: str, identifier: str = "embedding:") -> str:
    """Mark each task word as an embedding reference (`P_obj` -> `embedding:P_obj`, space-separated)."""
    def repl(m: re.Match) -> str:
        lead = " " if m.start() > 0 and not text[m.start() - 1].isspace() else ""
        return f"{lead}{identifier}{m.group(1)}"

    return _WORD_RX.sub(repl, text)


def install_task_tokens(tokenizer: Any, vectors: Mapping[str, torch.Tensor], lookup_arity: int = 2) -> Any:
    """Make a word tokenizer (ComfyUI ``SDTokenizer`` interface) emit the task vectors for the task words.

    Uses the tokenizer's own embedding mechanism (an embedding reference becomes a run of vector
    tokens that the text encoder splices into its input embeddings), so the text encoder itself is
    not modified. Mutates and returns ``tokenizer``: pass a copy. ``lookup_arity`` is how many
    values the host's ``_try_get_embedding`` returns: 2 = (embed, leftover), 3 = (embed, name, leftover).
    """
    identifier = getattr(tokenizer, "embedding_identifier", "embedding:")
    fallback: Callable = tokenizer._try_get_embedding
    tokenize: Callable = tokenizer.tokenize_with_weights
    table = {k: v.detach().float().clone() for k, v in vectors.items()}
    if tokenizer.embedding_directory is None:
        tokenizer.embedding_directory = []

    def lookup(name: str):
        words = name.split()
        first = words[0] if words else ""
        leftover = " ".join(words[1:])
        stripped = first.strip(",")
        if stripped in table:
            tail = first[len(stripped):] if first.startswith(stripped) else ""
            rest = f"{tail} {leftover}".strip() if tail else leftover
            return (table[stripped], stripped, rest) if lookup_arity >= 3 else (table[stripped], rest)
        return fallback(name)

    def tokenize_with_task_words(text: str, *args: Any, **kwargs: Any):
        return tokenize(rewrite_task_words(text, identifier), *args, **kwargs)

    tokenizer._try_get_embedding = lookup
    tokenizer.tokenize_with_weights = tokenize_with_task_words
    tokenizer.powerpaint_task_tokens = table
    return tokenizer
