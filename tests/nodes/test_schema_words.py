"""Search aliases on every node where the host reads them; categories as the naming scheme says."""
from __future__ import annotations

import dataclasses

from comfy_api.latest import io

import _harness

LEGACY = {"BrushNetLoader", "BrushNet", "BlendInpaint", "CutForInpaint", "PowerPaint", "PowerPaintCLIPLoader", "RAUNet"}


@dataclasses.dataclass
class _SchemaWithAliases(io.Schema):
    """io.Schema as newer ComfyUI has it (a ``search_aliases`` field)."""

    search_aliases: list = None


def test_every_node_has_search_aliases_on_a_host_that_reads_them(monkeypatch) -> None:
    monkeypatch.setattr(io, "Schema", _SchemaWithAliases)
    missing = []
    for cls in _harness.pack_module("nodes").all_nodes():
        schema = cls.define_schema()
        assert isinstance(schema, _SchemaWithAliases)
        if not schema.search_aliases or not all(isinstance(w, str) and w for w in schema.search_aliases):
            missing.append(schema.node_id)
    assert not missing


def test_hosts_without_the_field_get_schemas_without_it() -> None:
    schema_mod = _harness.pack_module("nodes.glue.schema")
    has = schema_mod.host_has_search_aliases()
    assert schema_mod.search_aliases("a") == ({"search_aliases": ["a"]} if has else {})
    for cls in _harness.pack_module("nodes").all_nodes():
        cls.define_schema()  # builds on this host


def test_categories() -> None:
    for cls in _harness.pack_module("nodes").all_nodes():
        schema = cls.define_schema()
        if schema.node_id in LEGACY:
            assert schema.category == "inpaint", schema.node_id  # the earlier pack's menu place
        else:
            assert schema.node_id.startswith("BrushEdit") and schema.category.startswith("BrushEdit/"), schema.node_id
