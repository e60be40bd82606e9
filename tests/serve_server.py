"""A real `unclip serve` process on a free loopback port, for the serve tests.

Sampling steps are set low at load (the model's graph overrides) so that every operation,
including the editing ones that use the decoder's own steps, runs in about a second on a CPU.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

FAST_STEPS = ("prior.sampler.steps=2", "decoder.sampler.steps=3", "upsamplers.0.sampler.steps=2")
START_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(tmp_path: Path, *, concurrency: int = 1, max_waiting: int = 32, steps=FAST_STEPS):
    """Yields the server's base URL and its process; stops it afterwards."""
    pytest.importorskip("gradio", reason="unclip serve needs the extra: pip install 'unclip[serve]'")
    port = free_port()
    command = [sys.executable, "-m", "unclip_core.cli", "serve", "--port", str(port),
               "--concurrency", str(concurrency), "--max-waiting", str(max_waiting),
               "--results", str(tmp_path / "results"), "--device", "cpu"]
    for override in steps:
        command += ["--set", override]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"unclip serve exited with {process.returncode}:\n{(tmp_path / 'server.log').read_text()}")
            try:
                get_json(url + "/api/health", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError("unclip serve did not answer within its start timeout") from None
                time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def get_json(url: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def post(url: str, body: object, timeout: float = 300) -> tuple[int, dict]:
    """(status, JSON body) of a POST, 4xx and 5xx included."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
