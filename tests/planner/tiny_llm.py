"""Build tiny random text-only causal LM folders offline (config + weights + tokenizer + chat template)."""
from __future__ import annotations

from pathlib import Path

import torch

from tiny_qwen import CHAT_TEMPLATE, SPECIALS, build_tokenizer

# A template without a system role (like some real ones): it raises on a system turn.
NO_SYSTEM_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_llm(folder: Path, family: str = "qwen2", seed: int = 0, chat_template: str | None = CHAT_TEMPLATE) -> Path:
    """A random tiny Qwen2 (or Qwen3) causal LM loadable with AutoModelForCausalLM(local_files_only)."""
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(folder)
    if chat_template is not None:
        tok.chat_template = chat_template
    tok.save_pretrained(folder)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    common = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                  tie_word_embeddings=True, bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                  pad_token_id=ids["<|endoftext|>"])
    if family == "qwen3":
        config = transformers.Qwen3Config(head_dim=16, **common)
        cls = transformers.Qwen3ForCausalLM
    else:
        config = transformers.Qwen2Config(**common)
        cls = transformers.Qwen2ForCausalLM
    torch.manual_seed(seed)
    model = cls(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(folder)
    return folder
