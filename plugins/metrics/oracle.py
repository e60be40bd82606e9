"""`oracle`: prompt fidelity on shapes, read off the pixels by the shapes oracle."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from unclip_core.errors import InputError
from unclip_core.interfaces import ComponentConfig, Metric, Samples, means

from ..datasets.shapes_attributes import ATTRIBUTE_NAMES
from ..datasets.shapes_captions import parse_caption
from ..datasets.shapes_oracle import judge


class OracleAccuracy(Metric):
    """Shapes: fraction of color, shape, size and position the pixels get right; all four, on seen and held-out pairs."""

    name: ClassVar[str] = "oracle"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def measure(self, samples: Samples) -> dict[str, float]:
        verdicts, held_out = self.verdicts(samples)
        out = means(_per_image(verdicts))
        every = [all(v[name] for name in ATTRIBUTE_NAMES) for v in verdicts]
        # Seen and held-out color+shape pairs apart: the gap is the compositional generalization.
        for label, wanted in (("seen", False), ("held_out", True)):
            members = [i for i, flag in enumerate(held_out) if flag == wanted]
            if not members:
                continue
            for name in ATTRIBUTE_NAMES:
                out[f"oracle_{label}_{name}"] = _mean([verdicts[i][name] for i in members])
            # The share of attributes drawn right: what a fidelity target for a group states.
            out[f"oracle_{label}_attributes"] = _mean([verdicts[i][name] for i in members for name in ATTRIBUTE_NAMES])
            out[f"oracle_{label}_all"] = _mean([every[i] for i in members])
        return out

    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        return _per_image(self.verdicts(samples)[0])

    def verdicts(self, samples: Samples) -> tuple[list[dict[str, bool]], list[bool]]:
        """Each image's verdict per attribute, and whether its caption's color+shape pair is held out."""
        self.check(samples)
        verdicts, held_out = [], []
        for image, prompt in zip(samples.images, samples.prompts):
            try:
                held_out.append(parse_caption(prompt).held_out)
            except InputError:
                raise InputError(
                    f"metric 'oracle' reads shapes captions, and cannot read '{prompt}'; "
                    "use shapes prompts (e.g. prompts: shapes:val) or drop the oracle"
                ) from None
            verdicts.append(judge(image, prompt))
        return verdicts, held_out


def _per_image(verdicts: list[dict[str, bool]]) -> dict[str, Tensor]:
    """Per attribute, and for all four at once, whether each image got it right (1.0 or 0.0)."""
    out = {f"oracle_{name}": torch.tensor([float(v[name]) for v in verdicts]) for name in ATTRIBUTE_NAMES}
    out["oracle_all"] = torch.tensor([float(all(v[name] for name in ATTRIBUTE_NAMES)) for v in verdicts])
    return out


def _mean(flags: list[bool]) -> float:
    return sum(flags) / len(flags)
