"""The HTTP API: one JSON POST per operation under /api, beside the page.

    POST /api/generate   {"prompts": ["red heart"], "seed": 0, "decoder_steps": 8}
    -> 200 {"operation": "generate", "settings": {...}, "images": [base64 PNG, ...], "gif": null}

Images go in and out as base64 text. Bad input is a 4xx with {"error": one line}: 400 for a body
that is not a JSON object, 422 for a request that does not validate, 503 when the queue is full.
The server's own failures are a 500 with the same shape; none stops the server.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..errors import InputError, UnclipError
from ..plugins import get_registry
from ..stage_options import stage_description
from .operations import Operations
from .requests import REQUESTS, OperationRequest, parse_request
from .result import Result
from .uploads import decode_image, encode_bytes
from .work_queue import QueueFull

log = logging.getLogger("unclip.serve")


def api_router(operations: Operations) -> APIRouter:
    router = APIRouter(prefix="/api")

    # async: answered on the event loop, never behind the sampling threads
    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "queue": operations.queue.state(), "models": operations.pool.loaded()}

    @router.get("/models")
    async def models() -> dict[str, Any]:
        pool = operations.pool
        return {"models": pool.names, "default": pool.default, "loaded": pool.loaded()}

    @router.get("/models/{name}")
    def model(name: str) -> JSONResponse:  # a plain def: loading runs in a worker thread
        """Each stage of one offered model: type, sampler and the sampling settings a request may set."""
        try:
            pipe = operations.pool.get(name)
        except InputError as exc:
            return error(404, str(exc))
        c = pipe.components
        stages = {"prior": c.prior, "decoder": c.decoder}
        return JSONResponse({
            "model": name,
            **{stage: stage_description(component) for stage, component in stages.items() if component is not None},
            "upsamplers": [stage_description(u) for u in c.upsamplers],
        })

    @router.get("/samplers")
    async def samplers() -> dict[str, Any]:
        return {"samplers": get_registry().names("sampler")}

    for name, cls in REQUESTS.items():
        router.add_api_route(f"/{name}", _endpoint(operations, cls), methods=["POST"], name=name,
                             summary=(cls.__doc__ or name).strip().splitlines()[0])
    return router


def _endpoint(operations: Operations, cls: type[OperationRequest]):
    async def endpoint(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error(400, f"{cls.operation}: the body is not JSON; send a JSON object of the request's fields")
        if not isinstance(body, dict):
            return error(400, f"{cls.operation}: the body must be a JSON object of the request's fields")
        try:
            result = await run_in_threadpool(run, operations, cls, body)
        except QueueFull as exc:
            return error(503, str(exc), headers={"Retry-After": "5"})
        except UnclipError as exc:
            return error(422, str(exc))
        except Exception as exc:  # a failure of the server's own: reported, and the server goes on
            log.exception("%s failed", cls.operation)
            return error(500, f"{cls.operation} failed: {type(exc).__name__}: {exc}")
        return JSONResponse(as_json(result))

    return endpoint


def run(operations: Operations, cls: type[OperationRequest], body: dict[str, Any]) -> Result:
    values = dict(body)
    # A result's settings can be sent back as they are: these two say what they came from.
    if values.pop("operation", cls.operation) != cls.operation:
        raise InputError(f"these settings are of '{body['operation']}'; send them to /api/{body['operation']}")
    values.pop("index", None)
    for field in cls.image_fields:
        if values.get(field) is not None:
            value = values[field]
            if isinstance(value, list):
                values[field] = tuple(decode_image(item, f"{field}.{k}") for k, item in enumerate(value))
            else:
                values[field] = decode_image(value, field)
    return operations.run(parse_request(cls, values))


def as_json(result: Result) -> dict[str, Any]:
    return {
        "operation": result.operation,
        "settings": result.settings,
        "images": [encode_bytes(png) for png in result.pngs],
        "gif": encode_bytes(result.gif) if result.gif is not None else None,
    }


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
