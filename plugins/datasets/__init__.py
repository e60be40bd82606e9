"""The built-in data sources: shapes (synthetic, with an oracle), emoji, webdataset shards, embeddings."""

from unclip_core import hookimpl

from .emoji import EmojiSource
from .shapes import ShapesSource


@hookimpl
def unclip_register_components(register):
    register(ShapesSource)
    register(EmojiSource)
