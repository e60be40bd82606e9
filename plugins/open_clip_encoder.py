"""The open_clip encoder: any open_clip architecture, weights from a local file."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from unclip_core import hookimpl
from unclip_core.catalog import catalog_path
from unclip_core.errors import ConfigError
from unclip_core.interfaces import ComponentConfig, Encoder, EncoderSpec, TextEncoding

log = logging.getLogger("unclip.encoder")

# Architectures shipped with unclip (configs/open_clip/*.json), next to open_clip's own.
SHIPPED_MODEL_DIR = catalog_path().parent / "configs" / "open_clip"


class OpenCLIPConfig(ComponentConfig):
    model: str = Field("unclip-tiny", description="open_clip model name, or a model config .json path.")
    pretrained: str | None = Field(
        None, description="Local weight file (.safetensors, or an open_clip .pt/.bin), or null for random init."
    )
    image_size: int | None = Field(None, description="Override the image tower's input size.")


class OpenCLIPEncoder(Encoder):
    """open_clip CLIP model: z_t, per-token text encodings and z_i."""

    name: ClassVar[str] = "open_clip"
    Config: ClassVar[type[OpenCLIPConfig]] = OpenCLIPConfig

    def __init__(self, config: OpenCLIPConfig) -> None:
        super().__init__()
        self.config = config
        import open_clip  # here, not above: see _register_model_config

        model_name = _register_model_config(config.model)
        with _quiet_random_init():
            self.model = open_clip.create_model(
                model_name,
                pretrained=_checked_weights_path(config.pretrained),
                force_custom_text=True,  # per-token outputs come from the separate text tower
                force_image_size=config.image_size,
            )
        self.model.text.output_tokens = True
        self._tokenizer = open_clip.get_tokenizer(model_name)
        mean, std = self.model.visual.preprocess_cfg["mean"], self.model.visual.preprocess_cfg["std"]
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def is_pretrained(cls, config: OpenCLIPConfig) -> bool:
        return config.pretrained is not None

    @classmethod
    def config_for_saved_weights(cls, config: OpenCLIPConfig) -> OpenCLIPConfig:
        return config.model_copy(update={"pretrained": None})

    @cached_property
    def spec(self) -> EncoderSpec:
        size = self.model.visual.image_size
        return EncoderSpec(
            embed_dim=self.model.text.output_dim,
            text_width=self.model.text.width,
            context_length=self.model.context_length,
            image_size=size[0] if isinstance(size, (tuple, list)) else int(size),
        )

    def tokenize(self, texts: Sequence[str]) -> Tensor:
        """Token ids, (len(texts), context_length); a text longer than the context is cut, with a note.

        Tokenizing one position longer than the context shows which texts do not fit, so the
        usual case (all fit) costs one pass.
        """
        texts = list(texts)
        length = self.model.context_length
        tokens = self._tokenizer(texts, context_length=length + 1)
        cut = (tokens[:, length] != 0).nonzero().flatten().tolist()
        if not cut:
            return tokens[:, :length].contiguous()  # the same layout the tokenizer returns
        first = texts[cut[0]]
        log.warning(
            "%d prompt%s longer than the encoder's context of %d tokens %s cut to fit, e.g. '%s'; "
            "only the beginning of %s guides the image",
            len(cut), "s" if len(cut) > 1 else "", length, "were" if len(cut) > 1 else "was",
            first if len(first) <= 60 else first[:57] + "...", "them" if len(cut) > 1 else "it",
        )
        return self._tokenizer(texts)  # truncated the tokenizer's way (ending in its end token)

    def encode_text(self, tokens: Tensor) -> TextEncoding:
        pooled, per_token = self.model.text(tokens)
        return TextEncoding(F.normalize(pooled, dim=-1), per_token, tokens != 0)

    def encode_image(self, images: Tensor) -> Tensor:
        size = self.spec.image_size
        if images.shape[-1] != size or images.shape[-2] != size:
            images = F.interpolate(images, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
        pixels = ((images + 1) / 2 - self.pixel_mean) / self.pixel_std
        return F.normalize(self.model.encode_image(pixels), dim=-1)

    @property
    def logit_scale(self) -> Tensor:
        return self.model.logit_scale.exp().clamp(max=100)


class _DropRandomInitNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextmanager
def _quiet_random_init():
    """open_clip warns when it builds without weights; pipelines load theirs right after."""
    notice = _DropRandomInitNotice()
    logging.getLogger().addFilter(notice)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(notice)


def _register_model_config(model: str) -> str:
    """Make shipped and user .json architectures known to open_clip; return the model name."""
    # open_clip is imported only when an encoder is built: importing it takes seconds (it pulls in
    # torchvision, and that torch's compiler), which commands that build none (`unclip --help`,
    # `plugins`, a refusal before the model loads) would otherwise pay on every run.
    import open_clip

    if SHIPPED_MODEL_DIR.is_dir():
        open_clip.add_model_config(SHIPPED_MODEL_DIR)
    path = Path(model)
    if path.suffix == ".json":
        if not path.is_file():
            raise ConfigError(f"encoder.model: model config file '{model}' not found")
        open_clip.add_model_config(path)
        return path.stem
    if model not in open_clip.list_models() and not model.startswith(("hf-hub:", "local-dir:")):
        raise ConfigError(
            f"encoder.model: unknown open_clip model '{model}'; use a name from "
            "open_clip.list_models() or a path to a model config .json"
        )
    return model


def _checked_weights_path(pretrained: str | None) -> str | None:
    if pretrained is None:
        return None
    path = Path(pretrained)
    if not path.is_file():
        raise ConfigError(
            f"encoder.pretrained: weight file '{pretrained}' not found; give a local file path "
            "(no weights are downloaded) or null for random initialization"
        )
    return str(path)


@hookimpl
def unclip_register_components(register):
    register(OpenCLIPEncoder)
