"""JupyterLab serves the notebooks and runs them: the server (as ``scripts/notebooks.sh`` starts it) on a free
local port, each notebook opened through the contents API and run, cell by cell, in a kernel of a session
there (sessions API, then the kernel's websocket channels), as the JupyterLab front end does.

Your runs hold recognition only, so the recognition notebook shows them and the others fall back, each on
its own, to the committed reference.  Skipped when JupyterLab is not installed (``bash scripts/setup.sh``
installs it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from benchutil import REPO
from test_notebooks import KERNEL, MAKE, TASKS, write_smoke_like_records

pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (bash scripts/setup.sh, or "
                                         "pip install -e .[notebooks])")
websocket = pytest.importorskip("websocket", reason="websocket-client (a jupyter_server dependency) is missing")
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e .[test])")

START_S = 90  # the server's start, on a busy 2-core machine
CELL_S = 180  # one cell


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, token: str, log: Path):
        self.base, self.token, self.log = f"127.0.0.1:{port}", token, log

    def request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{self.base}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, r.headers.get("Content-Type", ""), raw

    def json(self, method: str, path: str, body=None):
        status, _, raw = self.request(method, path, body)
        return json.loads(raw) if raw else None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.is_file() else ""


@contextmanager
def jupyterlab(tmp: Path, env: dict):
    """``jupyter lab`` on a free port of 127.0.0.1, serving the checkout, its config and runtime files in ``tmp``."""
    port, token, log = _free_port(), secrets.token_hex(16), tmp / "jupyterlab.log"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "IPYTHONDIR": str(tmp / "ipython"), "MPLBACKEND": "Agg", **env}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={REPO}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    server = Server(port, token, log)
    try:
        deadline = time.monotonic() + START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                server.request("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {START_S} s:\n{server.log_tail()}")
                time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _message(session: str, code: str) -> dict:
    msg_id = uuid.uuid4().hex
    return {"header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}


def run_cell(ws, session: str, code: str) -> list:
    """Execute ``code`` over the kernel's websocket; its outputs (iopub messages), or a failure with the
    traceback when the cell raised."""
    request = _message(session, code)
    ws.send(json.dumps(request))
    outputs, idle, reply = [], False, None
    deadline = time.monotonic() + CELL_S
    while not (idle and reply):
        if time.monotonic() > deadline:
            pytest.fail(f"a cell ran longer than {CELL_S} s:\n{code[:300]}")
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
            continue
        kind = msg["msg_type"]
        if msg["channel"] == "shell" and kind == "execute_reply":
            reply = msg["content"]
        elif kind == "status":
            idle = msg["content"]["execution_state"] == "idle"
        elif kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append(msg)
    if reply["status"] != "ok":
        trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(reply.get("traceback", [])))
        pytest.fail(f"cell raised {reply.get('ename')}: {reply.get('evalue')}\n{code[:300]}\n{trace}")
    return outputs


def run_notebook(server: Server, path: str) -> str:
    """Open ``path`` through the contents API, start a session on it, run its code cells; what it printed."""
    model = server.json("GET", f"/api/contents/{path}?content=1")
    assert model["type"] == "notebook" and model["format"] == "json"
    cells = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    on_disk = nbformat.read(REPO / path, as_version=4)
    assert [c["source"] for c in cells] == [c.source for c in on_disk.cells if c.cell_type == "code"]
    session = server.json("POST", "/api/sessions", {"path": path, "name": Path(path).name, "type": "notebook",
                                                    "kernel": {"name": "python3"}})
    client = uuid.uuid4().hex
    ws = websocket.create_connection(f"ws://{server.base}/api/kernels/{session['kernel']['id']}/channels"
                                     f"?session_id={client}", header=[f"Authorization: token {server.token}"],
                                     timeout=CELL_S)
    try:
        printed = []
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for out in run_cell(ws, client, source):
                content = out["content"]
                printed.append(content.get("text", ""))
                printed.extend(str(content.get("data", {}).get(k, "")) for k in ("text/markdown", "text/html"))
                if "image/png" in content.get("data", {}):
                    printed.append("<image/png>")
        return "\n".join(printed)
    finally:
        ws.close()
        server.request("DELETE", f"/api/sessions/{session['id']}")


@KERNEL
def test_jupyterlab_serves_and_runs_every_notebook(tmp_path):
    yours = write_smoke_like_records(tmp_path / "results", tasks=("recognition",))
    env = {"SASE_BENCH_RESULTS": str(yours), "SASE_BENCH_REFERENCE": str(REPO / "results" / "reference")}
    with jupyterlab(tmp_path, env) as server:
        status, kind, page = server.request("GET", "/lab/tree/notebooks")  # the front end the README opens
        assert status == 200 and "text/html" in kind and b"JupyterLab" in page
        listing = {f["name"] for f in server.json("GET", "/api/contents/notebooks")["content"]}
        for task in TASKS:
            name = MAKE.path_of(REPO, task).name
            assert name in listing
            printed = run_notebook(server, f"notebooks/{name}")
            mine = task == "recognition"
            assert ("(your runs)" in printed) == mine, printed[:2000]
            assert ("(the committed reference: you have no completed" in printed) != mine, printed[:2000]
            assert "No completed" not in printed
            if not mine:
                assert "<image/png>" in printed  # the reference's plots
