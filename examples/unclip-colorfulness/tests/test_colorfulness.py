import torch

from unclip_core.interfaces import Samples
from unclip_core.testing import MetricContract, build_component


class TestColorfulness(MetricContract):
    metric_type = "colorfulness"
    encoder_section = {"type": "open_clip", "model": "unclip-tiny"}


def test_grey_scores_zero_and_saturated_colors_score_high():
    metric = build_component("metric", {"type": "colorfulness"})
    grey = torch.full((2, 3, 8, 8), 0.2)
    stripes = -torch.ones(2, 3, 8, 8)
    stripes[:, 0, :, :4] = 1  # red half
    stripes[:, 2, :, 4:] = 1  # blue half
    encoder = TestColorfulness().encoder()
    assert metric.measure(Samples(["a", "b"], grey, encoder))["colorfulness"] == 0.0
    vivid = metric.measure(Samples(["a", "b"], stripes, encoder, references=grey))
    assert vivid["colorfulness"] > 100 and vivid["colorfulness_gap"] == vivid["colorfulness"]
