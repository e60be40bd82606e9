"""Evaluation measures shared by training modules, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def retrieval_accuracy(image_embeddings: Tensor, text_embeddings: Tensor, captions: Sequence[str], k: int = 1) -> float:
    """Image-to-text top-k retrieval over the distinct captions of the batch.

    A hit is a retrieved caption equal to the image's own caption, so duplicate captions
    (several images of one description) are neither penalized nor double counted.
    """
    return retrieval_hits(image_embeddings, text_embeddings, captions, k).float().mean().item()


def retrieval_hits(image_embeddings: Tensor, text_embeddings: Tensor, captions: Sequence[str], k: int = 1) -> Tensor:
    """Per image, whether its own caption is among the top k of `retrieval_accuracy`'s retrieval."""
    distinct = sorted(set(captions))
    index = {caption: i for i, caption in enumerate(distinct)}
    first = [captions.index(caption) for caption in distinct]
    texts = text_embeddings[first]
    targets = torch.tensor([index[c] for c in captions], device=image_embeddings.device)
    top = (image_embeddings @ texts.T).topk(min(k, len(distinct)), dim=-1).indices
    return (top == targets[:, None]).any(-1)


def chance_retrieval(captions: Sequence[str], k: int = 1) -> float:
    return min(k, len(set(captions))) / len(set(captions))


def prior_similarities(predicted: Tensor, image_embeddings: Tensor, text_embeddings: Tensor) -> dict[str, float]:
    """Mean cosines that show whether a prior learned anything beyond copying the caption.

    cos_true: predicted z_i vs true z_i. cos_text: vs the caption's z_t. cos_unrelated: vs
    another caption of the batch (rolled by one). baseline_true: the true pair's cos(z_i, z_t),
    which is what the caption-only prior (z_i := z_t) scores as cos_true.
    """

    def cos(a: Tensor, b: Tensor) -> float:
        return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1).mean().item()

    out = {
        "cos_true": cos(predicted, image_embeddings),
        "cos_text": cos(predicted, text_embeddings),
        "baseline_true": cos(image_embeddings, text_embeddings),
    }
    if len(predicted) > 1:
        out["cos_unrelated"] = cos(predicted, text_embeddings.roll(1, 0))
    return out


def bootstrap_interval(
    samples: Tensor, statistic: Callable[[Tensor], Tensor], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic over items (prompts, images): how far it could
    move had other items of the same kind been drawn, which a rate over a few hundred items needs
    next to it (50% of 269 is uncertain by about 6 points either way).

    `samples` has one row per item; `statistic` maps resampled rows, shaped (resamples, items,
    ...), to one value per resample, e.g. `lambda r: (r <= 5).float().mean(1)`. For a paired
    comparison of two systems on the same items, stack their measures on the last dim and take a
    statistic of the difference: the items' shared difficulty then cancels.
    """
    if len(samples) == 0:
        raise ValueError("a bootstrap interval needs at least one item")
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(samples), (resamples, len(samples)), generator=generator)
    values = statistic(samples.cpu()[picks]).double()
    tail = (1 - level) / 2
    low, high = torch.quantile(values, torch.tensor([tail, 1 - tail], dtype=torch.double)).tolist()
    # A difference of means that is exactly 0 can come out as -1e-16; rounded, it reads as 0
    # (+ 0.0 turns -0.0 into 0.0), so an interval that only touches 0 is not taken to exclude it.
    return round(low, 12) + 0.0, round(high, 12) + 0.0
