"""Text-mask fixtures: tiny random GroundingDINO / SAM written into the session's models folder."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import tm_tiny  # noqa: E402


@pytest.fixture(scope="session")
def tiny_sam():
    return tm_tiny.tiny_sam()


@pytest.fixture(scope="session")
def tiny_gdino():
    return tm_tiny.tiny_gdino()


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory):
    """The tokenizer of ``tm_tiny``'s vocabulary."""
    from brushnet_core.text_mask.loading import load_tokenizer

    folder = tmp_path_factory.mktemp("vocab_tiny")
    tm_tiny.write_vocab(str(folder))
    return load_tokenizer(str(folder))


@pytest.fixture(scope="session")
def file_gdino(tmp_path_factory):
    """The tiny GroundingDINO of the version-independent original file (same weights on transformers 4 and 5)."""
    from brushnet_core.text_mask.loading import load_grounding_dino

    folder = tmp_path_factory.mktemp("gd_file")
    torch.save(tm_tiny.original_gdino_file(), folder / "gd.pth")
    tm_tiny.write_vocab(str(folder))
    return load_grounding_dino(str(folder / "gd.pth")).model


@pytest.fixture(scope="session")
def text_mask_models(models_dir: Path, tiny_sam, tiny_gdino) -> dict[str, Path]:
    """Original-layout .pth files and Hugging Face folders of the tiny models under models_dir."""
    from brushnet_core.text_mask.loading import load_tokenizer

    sams, gdino = models_dir / "sams", models_dir / "grounding-dino"
    sams.mkdir(parents=True, exist_ok=True)
    gdino.mkdir(parents=True, exist_ok=True)
    torch.save(tm_tiny.sam_to_original(tiny_sam.state_dict()), sams / "sam_vit_tiny.pth")
    tiny_sam.save_pretrained(sams / "tiny-sam-hf")
    torch.save(tm_tiny.gdino_to_original(tiny_gdino.state_dict()), gdino / "groundingdino_tiny.pth")
    tm_tiny.write_vocab(str(gdino))  # vocab.txt next to the .pth, as users are told to put it
    hf = gdino / "tiny-gdino-hf"
    tiny_gdino.save_pretrained(hf)
    vocab_dir = models_dir / "_vocab"
    tm_tiny.write_vocab(str(vocab_dir))
    load_tokenizer(str(vocab_dir)).save_pretrained(hf)  # BertTokenizer(vocab_file=) is ignored by transformers 5
    return {"sam_pth": sams / "sam_vit_tiny.pth", "sam_hf": sams / "tiny-sam-hf",
            "dino_pth": gdino / "groundingdino_tiny.pth", "dino_hf": hf}


@pytest.fixture
def input_image(examples_dir) -> str:
    import folder_paths

    dest = Path(folder_paths.get_input_directory())
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(examples_dir / "example_4.jpeg", dest / "example_4.jpeg")
    return "example_4.jpeg"
