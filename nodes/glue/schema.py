"""Schema keywords that only some hosts know.

``search_aliases`` (extra words the node search matches, as ``comfy_extras/nodes_mask.py`` has
them) arrived in ``io.Schema`` after ComfyUI 0.3.75; on hosts without the field the words are
left out, so the same schema loads on every supported host. Nothing here is saved in workflows.
The host is asked in :mod:`nodes.compat` (``schema_fields``), the one place that reads its internals.
"""
from __future__ import annotations

from .. import compat


def host_has_search_aliases() -> bool:
    return "search_aliases" in compat.schema_fields()


def search_aliases(*words: str) -> dict[str, list[str]]:
    """``io.Schema(..., **search_aliases("crop", "inpaint crop"))``: the words where the host reads them."""
    return {"search_aliases": list(words)} if host_has_search_aliases() else {}
