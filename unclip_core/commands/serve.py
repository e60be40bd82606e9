"""`unclip serve`: the web page and the HTTP API (needs the extra: pip install 'unclip[serve]').

    unclip serve                                   # every known model, on http://127.0.0.1:7860
    unclip serve --model unclip-emoji --model runs/shapes/pipeline --port 8000 --concurrency 2
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    parser = sub.add_parser("serve", help="serve a web page and an HTTP API for every operation")
    parser.add_argument(
        "--model", dest="models", action="append", default=[], metavar="NAME_OR_FOLDER",
        help="a model to offer (repeatable; the first is the default). Default: every model in "
             "registry.yaml and the plugins, registry.yaml's default first",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    parser.add_argument("--concurrency", type=int, default=1, help="operations sampling at once (default 1)")
    parser.add_argument("--max-waiting", type=int, default=32,
                        help="requests that may wait for a free slot; more are refused with 503 (default 32)")
    parser.add_argument("--results", default=None, metavar="FOLDER",
                        help="where the page keeps result files (default: a new temporary folder)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override every served model's graph at load, e.g. --set decoder.sampler.steps=8 (repeatable)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..errors import InputError
    from .data import default_device

    if args.concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.max_waiting < 0:
        raise InputError(f"--max-waiting must be 0 or more, got {args.max_waiting}")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")
    try:
        from ..serve.app import ServeOptions, serve
    except ImportError as exc:
        raise InputError(
            f"unclip serve needs the optional extra ({exc.name} is not installed); run: pip install 'unclip[serve]'"
        ) from None
    options = ServeOptions(
        models=args.models, device=args.device or default_device(), overrides=args.overrides,
        concurrency=args.concurrency, max_waiting=args.max_waiting, results=args.results,
    )
    serve(options, host=args.host, port=args.port)
