"""The built-in data sources: shapes (synthetic, with an oracle), emoji, webdataset shards, embeddings."""

from unclip_core import hookimpl

from .embeddings_source import EmbeddingsSource
from .emoji import EmojiSource
from .shapes import ShapesSource
from .webdataset_source import WebDatasetSource


@hookimpl
def unclip_register_components(register):
    register(ShapesSource)
    register(EmojiSource)
    register(WebDatasetSource)
    register(EmbeddingsSource)
