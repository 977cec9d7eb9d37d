"""Schema keywords that only some hosts know.

``search_aliases`` (extra words the node search matches, as ``comfy_extras/nodes_mask.py`` has
them) arrived in ``io.Schema`` after ComfyUI 0.3.75; on hosts without the field the words are
left out, so the same schema loads on every supported host. Nothing here is saved in workflows.
"""
from __future__ import annotations

import dataclasses

from comfy_api.latest import io


def host_has_search_aliases() -> bool:
    return "search_aliases" in {f.name for f in dataclasses.fields(io.Schema)}


def search_aliases(*words: str) -> dict[str, list[str]]:
    """``io.Schema(..., **search_aliases("crop", "inpaint crop"))``: the words where the host reads them."""
    return {"search_aliases": list(words)} if host_has_search_aliases() else {}
