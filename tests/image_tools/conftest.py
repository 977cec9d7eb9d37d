"""Fixtures for the image-tool tests: example photos in ComfyUI's input folder, prompt helpers."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import _harness

EXAMPLES = [
    ("example_1.jpg", "example_1_mask.jpg"),
    ("example_2.jpg", "example_2_mask.jpg"),
    ("example_3.jpg", "example_3_mask.jpg"),
    ("example_4.jpeg", "example_4_mask.jpg"),  # 1150x690 image, 853x512 mask
    ("example_5.jpg", "example_5_mask.jpg"),
    ("test_image.jpg", "test_mask.jpg"),
]


@pytest.fixture(scope="session")
def input_examples(examples_dir: Path) -> list[tuple[str, str]]:
    """Copy the example photos and masks into ComfyUI's input folder; return the name pairs."""
    import folder_paths

    input_dir = Path(folder_paths.get_input_directory())
    input_dir.mkdir(parents=True, exist_ok=True)
    for pair in EXAMPLES:
        for name in pair:
            shutil.copyfile(examples_dir / name, input_dir / name)
    return EXAMPLES


class Graph:
    """Build an API-format prompt node by node; every node output can be read after the run."""

    def __init__(self) -> None:
        self.prompt: dict[str, dict] = {}

    def add(self, class_type: str, **inputs) -> str:
        node_id = str(len(self.prompt) + 1)
        self.prompt[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id

    def run(self, *sinks: tuple[str, int]) -> _harness.PromptRun:
        """Run the prompt with a PreviewAny output node on each ``(node_id, slot)`` sink."""
        for node_id, slot in sinks:
            self.add("PreviewAny", source=[node_id, slot])
        return _harness.run_prompt(self.prompt)

    def load(self, image: str, mask: str) -> tuple[list, list]:
        """LoadImage + LoadImageMask (red channel) links for an example pair."""
        img = self.add("LoadImage", image=image)
        msk = self.add("LoadImageMask", image=mask, channel="red")
        return [img, 0], [msk, 0]


@pytest.fixture
def graph() -> Graph:
    return Graph()
