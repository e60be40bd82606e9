"""The server: the HTTP API and the page on one FastAPI app, run by uvicorn.

Gradio is told to stay offline before it is imported: no analytics and no update checks.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from .http_api import api_router  # noqa: E402
from .model_pool import ModelPool  # noqa: E402
from .operations import Operations  # noqa: E402
from .page import THEME, build_page  # noqa: E402
from .page_support import PageContext  # noqa: E402
from .result_store import ResultStore  # noqa: E402
from .work_queue import WorkQueue  # noqa: E402


@dataclass
class ServeOptions:
    models: Sequence[str] = ()  # offered models, the first the default; empty: every known model
    device: str = "cpu"
    overrides: Sequence[str] = ()  # graph overrides applied when each model loads
    concurrency: int = 1  # operations sampling at once
    max_waiting: int = 32  # requests that may wait for a slot before more are refused
    results: str | Path | None = None  # where result files go; None: a fresh temporary folder
    preload: bool = True  # load the default model before serving, so its errors show at start


def create_app(options: ServeOptions) -> FastAPI:
    pool = ModelPool(options.models, device=options.device, overrides=options.overrides)
    if options.preload:
        pool.get(None)
    queue = WorkQueue(options.concurrency, options.max_waiting)
    operations = Operations(pool, queue)
    store = ResultStore(options.results or tempfile.mkdtemp(prefix="unclip-serve-"))

    # No /docs or /redoc pages: they load their scripts from a CDN. /openapi.json stays.
    app = FastAPI(title="unclip", description="unCLIP operations over HTTP; see docs/serve.md.",
                  docs_url=None, redoc_url=None)
    app.include_router(api_router(operations))
    page = build_page(PageContext(operations, store))
    # The page's queue admits what the work queue can run and hold; the work queue bounds both.
    page.queue(default_concurrency_limit=options.concurrency, max_size=options.max_waiting)
    return gr.mount_gradio_app(
        app, page, path="", allowed_paths=[str(store.folder)], footer_links=[], ssr_mode=False, theme=THEME,
        show_error=True,
    )


def serve(options: ServeOptions, host: str = "127.0.0.1", port: int = 7860) -> None:
    import uvicorn

    app = create_app(options)
    print(f"unclip serve: the page is at http://{host}:{port}/ and the API at http://{host}:{port}/api", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
