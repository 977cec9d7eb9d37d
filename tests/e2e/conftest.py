"""One real ComfyUI server (subprocess, --cpu, 127.0.0.1) for the end-to-end tests, with stand-in models."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from demo import example_models as em
from demo.server import ComfyServer

TEXT_MASK_TESTS = Path(__file__).resolve().parents[1] / "text_mask"
SMALL = (128, 128)
LEGACY_BRUSHNET = "brushnet/random_mask.safetensors"


def write_text_mask_stand_ins(models_dir: Path) -> None:
    """Tiny random GroundingDINO / SAM in the original .pth layout under the names users have."""
    sys.path.insert(0, str(TEXT_MASK_TESTS))
    import tm_tiny

    sams, gdino = models_dir / "sams", models_dir / "grounding-dino"
    sams.mkdir(parents=True, exist_ok=True)
    gdino.mkdir(parents=True, exist_ok=True)
    torch.save(tm_tiny.sam_to_original(tm_tiny.tiny_sam().state_dict()), sams / em.SAM)
    torch.save(tm_tiny.gdino_to_original(tm_tiny.tiny_gdino().state_dict()), gdino / em.GROUNDING_DINO)
    tm_tiny.write_vocab(str(gdino))


def write_inputs(input_dir: Path, examples: Path) -> None:
    input_dir.mkdir(parents=True, exist_ok=True)
    Image.open(examples / "test_image.jpg").convert("RGB").resize(SMALL).save(input_dir / em.EXAMPLE_IMAGE)
    Image.open(examples / "test_mask.jpg").convert("RGB").resize(SMALL).save(input_dir / em.EXAMPLE_MASK)
    Image.open(examples / "example_4.jpeg").convert("RGB").save(input_dir / em.LARGE_IMAGE)
    Image.open(examples / "example_4_mask.jpg").convert("RGB").save(input_dir / em.LARGE_MASK)  # 853x512: other size


@pytest.fixture(scope="session")
def e2e_models(tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("e2e_models")
    em.write_sd15_stand_ins(models)
    write_text_mask_stand_ins(models)
    # the earlier pack's layout: a single-file BrushNet repack under models/inpaint/brushnet/
    from demo.random_models import SMALL_SD15_BRUSHNET, random_brushnet, save_brushnet

    save_brushnet(random_brushnet(SMALL_SD15_BRUSHNET, seed=8), models / "inpaint" / LEGACY_BRUSHNET, dtype=torch.float16)
    return models


@pytest.fixture(scope="session")
def server(e2e_models: Path, tmp_path_factory, examples_dir: Path):
    srv = ComfyServer(e2e_models, tmp_path_factory.mktemp("e2e_server"))
    write_inputs(srv.input_dir, examples_dir)
    srv.start()
    print(f"\n[e2e] ComfyUI server up in {srv.startup_seconds:.1f} s on {srv.url}")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def object_info(server) -> dict:
    return server.get("/object_info")


@pytest.fixture(scope="session")
def sdxl_models(e2e_models: Path) -> Path:
    """SDXL stand-ins (checkpoint with full-size random text encoders, ~2 GB) in the server's models dir."""
    em.write_sdxl_stand_ins(e2e_models)
    return e2e_models
