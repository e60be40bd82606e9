"""On a GPU, a training step fed from the device never waits on a device-to-host copy.

Runs only where CUDA is available; CUDA's sync debug mode turns any synchronizing call inside
the step (an `.item()`, a `.tolist()`, a host-side `if` on a device value) into an error.
"""

import pytest
import torch

from unclip_core.graph import build, build_node, load_graph
from unclip_core.plugins import get_registry
from unclip_core.summary import graph_stages, measure_stage
from unclip_core.training.data import DeviceDataModule
from unclip_core.training.ema import EMA

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def stage(name: str, overrides: tuple[str, ...] = ()):
    settings = ["data.train_size=64", "data.batch_size=16", "data.image_size=64", *overrides]
    graph = load_graph(ROOT / "configs/tiny.yaml", settings)
    components = build(graph)
    [training_stage] = [s for s in graph_stages(graph, get_registry()) if s.name == name]
    module = training_stage.module(components).cuda()
    tokenizer = None if name.startswith("upsampler") else components.encoder.tokenize
    data = DeviceDataModule(build_node(graph.data, get_registry()), tokenizer=tokenizer, device="cuda")
    if name == "prior":
        module.fit_statistics(data.statistics_batches(), items=64)
        module.cuda()
    return module, data


@pytest.mark.parametrize("name, overrides", [
    ("prior", ()), ("decoder", ()), ("upsampler_0", ()),
    ("upsampler_0", ("upsamplers.0.degradation=bsr",)),  # blur, resize, noise and JPEG, all on the device
])
def test_a_device_fed_step_makes_no_host_sync(name, overrides):
    module, data = stage(name, overrides)
    data.setup("fit")
    optimizer = torch.optim.AdamW(module.component.parameters(), lr=1e-4, fused=True)
    ema = EMA(0.99)
    ema.on_train_start(None, module)
    batches = iter(data.train_dataloader())
    module.train()
    for step in range(3):
        batch = next(batches)
        torch.cuda.set_sync_debug_mode("error" if step > 0 else "default")  # the first step may lazily set up
        try:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = module.step_loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            ema.on_train_batch_end(None, module, None, batch, step)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss)


def test_fsdp_on_one_gpu_trains_in_bf16_and_exports_whole_weights(tmp_path):
    """`trainer.strategy=fsdp` on a GPU: bf16 mixed precision on the shards, and an export that
    loads (its shapes those of an unsharded decoder)."""
    import subprocess
    import sys

    from safetensors.torch import load_file

    from unclip_core.pipeline import Pipeline

    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "unclip_core.cli", "train", "all", "--config", "configs/tiny.yaml", "upsamplers=[]",
         "data.train_size=64", "data.batch_size=16", "trainer.max_steps=3", "trainer.limit_val_batches=0",
         "trainer.num_sanity_val_steps=0", "trainer.strategy=fsdp", "trainer.devices=1", f"run_dir={run_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exported = load_file(run_dir / "pipeline" / "decoder.safetensors")
    built = build(load_graph(ROOT / "configs/tiny.yaml", ["upsamplers=[]"])).decoder.state_dict()
    assert {k: v.shape for k, v in exported.items()} == {k: v.shape for k, v in built.items()}
    assert Pipeline.from_pretrained(str(run_dir / "pipeline")).components.decoder is not None


@pytest.mark.parametrize("name", ["decoder", "upsampler_0"])
def test_the_summary_s_activation_memory_is_what_a_gpu_forward_leaves_allocated(name):
    """What a bf16 forward pass on a GPU leaves allocated (what autograd keeps for the backward
    pass, autocast's bf16 weight copies among it) is what `unclip summary` counts on its
    pretend GPU, give or take the allocator's rounding."""
    graph = load_graph(ROOT / "configs/tiny.yaml")
    summary_stage = next(s for s in graph_stages(graph, get_registry()) if s.name == name)
    module = summary_stage.module(build(graph)).cuda().train()
    batch = {key: torch.zeros_like(value) for key, value in summary_stage.batch(module, 16, torch.device("cuda")).items()}

    def forward():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return module.step_loss(batch)

    forward().backward()  # the first step sets up what stays (schedules on the device, kernels)
    module.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    loss = forward()
    torch.cuda.synchronize()
    kept = torch.cuda.memory_allocated() - before
    del loss
    counted = measure_stage(summary_stage, 16, torch.bfloat16).plain_activation_bytes
    assert counted == pytest.approx(kept, rel=0.15), (counted, kept)


@pytest.mark.parametrize("channels_last", [True, False])
def test_a_unet_stage_trains_in_the_layout_its_settings_name(channels_last):
    """`train.<stage>.channels_last` decides the layout of a UNet's weights and images on a GPU."""
    module, data = stage("decoder", (f"train.decoder.channels_last={str(channels_last).lower()}",))
    module.on_fit_start()
    data.setup("fit")
    images = module.images(next(iter(data.train_dataloader())))
    conv = next(m for m in module.component.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    layout = torch.channels_last if channels_last else torch.contiguous_format
    assert module.uses_channels_last() is channels_last
    assert images.is_contiguous(memory_format=layout) and conv.weight.is_contiguous(memory_format=layout)
