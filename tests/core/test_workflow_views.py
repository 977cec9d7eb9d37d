"""Every shipped workflow opens with all of its nodes on a 1920x1080 window: the frontend draws, and so
shows output previews for, only the nodes on screen (an output node outside the saved view stays empty
until the user pans to it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

WORKFLOWS = sorted((Path(__file__).resolve().parents[2] / "workflows").glob("*.json"))
#: the canvas of a 1920x1080 window below the frontend's top menu
WINDOW = (1920, 1000)


def off_screen(workflow: dict) -> list[str]:
    """Nodes whose saved rectangle is not inside the window at the saved view."""
    ds = workflow["extra"]["ds"]
    scale, (ox, oy) = ds["scale"], ds["offset"]
    out = []
    for n in workflow["nodes"]:
        (x, y), (w, h) = n["pos"], n["size"]
        left, top = (x + ox) * scale, (y + oy) * scale
        right, bottom = (x + w + ox) * scale, (y + h + oy) * scale
        if left < 0 or top < 0 or right > WINDOW[0] or bottom > WINDOW[1]:
            out.append(f"{n['type']} #{n['id']} at ({left:.0f}, {top:.0f})-({right:.0f}, {bottom:.0f})")
    return out


def test_there_are_workflows() -> None:
    assert len(WORKFLOWS) >= 10


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_saved_view_shows_every_node(path: Path) -> None:
    assert not off_screen(json.loads(path.read_text())), f"{path.name}: nodes outside the saved view"


def test_the_check_sees_a_node_off_screen() -> None:
    wf = {"extra": {"ds": {"scale": 0.8, "offset": [0, 0]}},
          "nodes": [{"id": 1, "type": "SaveImage", "pos": [2520, 0], "size": [320, 120]}]}
    assert off_screen(wf) == ["SaveImage #1 at (2016, 0)-(2272, 96)"]
