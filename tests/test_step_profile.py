"""benchmarks/step_profile.py: kernels sorted into kinds, and a real profiled step summarized."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from step_profile import OTHER, kind_of, summarize  # noqa: E402


@pytest.mark.parametrize(("name", "kind"), [
    ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel", "matmul/conv"),
    ("sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize128x128x64", "matmul/conv"),
    ("void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, false, true>", "copy/cast"),
    ("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 128, 4>>", "attention/softmax"),
    ("void at::native::(anonymous namespace)::RowwiseMomentsCUDAKernel<float>(long, float, float const*, float*, float*)", "norm"),
    ("void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)", "copy/cast"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<FusedAdamMathFunctor<float, 4>>", "optimizer/EMA"),
    ("void at::native::vectorized_elementwise_kernel<4, at::native::silu_kernel(at::TensorIteratorBase&)", OTHER),
    ("aten::native_group_norm_backward", "norm"),
    ("aten::mkldnn_convolution", "matmul/conv"),
    ("aten::add_", OTHER),
])
def test_kernels_and_operations_fall_into_their_kind(name, kind):
    assert kind_of(name) == kind


def test_a_profiled_cpu_step_is_summarized_without_counting_anything_twice():
    layer = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.GroupNorm(2, 8), torch.nn.SiLU())
    x = torch.randn(2, 4, 16, 16)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(3):
            layer(x).square().mean().backward()
        wall = time.perf_counter() - start
    result = summarize(prof.key_averages(), steps=3, wall_seconds=wall, on_gpu=False)
    kinds = result["by_kind"]
    assert {"matmul/conv", "norm"} <= set(kinds)
    # Own times only: the kinds add up to the busy time, which no nesting can push past the wall.
    # Each figure is rounded to 0.001 ms, so the sum may be off by half of that per figure.
    rounding = 0.0005 * (len(kinds) + 1)
    assert sum(k["ms_per_step"] for k in kinds.values()) == pytest.approx(result["busy_ms_per_step"], abs=rounding)
    assert sum(k["percent"] for k in kinds.values()) == pytest.approx(100, abs=0.5)
    assert 0 < result["device_busy_percent"] <= 100
    assert result["wall_ms_per_step"] == pytest.approx(1e3 * wall / 3, abs=0.0005)
    top = result["top"][0]
    assert top["ms_per_step"] == max(t["ms_per_step"] for t in result["top"]) and top["calls_per_step"] > 0
