"""Notes from the library (an input resized, a prompt cut to the encoder's context) shown on the
command line as `note: ...` lines on stderr."""

from __future__ import annotations

import logging
import sys


class CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the note (it may be replaced meanwhile)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def show_notes() -> None:
    """Route the `unclip` loggers' INFO and above to stderr, once per process."""
    log = logging.getLogger("unclip")
    if not any(isinstance(h, logging.StreamHandler) for h in log.handlers):
        handler = CurrentStderr()
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
