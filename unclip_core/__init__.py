"""unclip: a plugin-based framework for unCLIP (text -> CLIP image embedding -> image)."""

from .hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
