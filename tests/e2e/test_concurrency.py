"""Two clients on one real server: different BrushNet graphs queued at once, one client cancels mid-run.

Client A queues a long SD1.5 BrushNet graph and a second one; client B, at the same moment, queues the
earlier pack's BrushNet graph (another BrushNet file). While A's sampler is running, A deletes its
pending prompt (``POST /queue {"delete": ...}``) and interrupts the running one (``POST /interrupt``
with its prompt id). The interrupted prompt must end as interrupted (not as an error), the deleted one
must never run, B must really run (not from ComfyUI's cache) and its image must be byte-identical to
B run alone afterwards, which also shows the server keeps serving.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import uuid

import pytest

from benchmarks.soak import graphs as soak_graphs, runs as soak_runs
from demo.server import ComfyServer, PromptError, output_images
from e2e.test_compat_and_errors import legacy_api_prompt

LONG_STEPS = 400


class Client:
    """One user of the server: its own client id and websocket, same HTTP helpers."""

    def __init__(self, server: ComfyServer) -> None:
        self.server, self.client_id = server, uuid.uuid4().hex
        self.events: list[dict] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        import aiohttp

        url = self.server.url.replace("http://", "ws://") + f"/ws?clientId={self.client_id}"
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        msg = await ws.receive(timeout=0.5)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        self.events.append(json.loads(msg.data))
                    elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break

    def __enter__(self) -> "Client":
        self._thread.start()
        assert self._ready.wait(60), "websocket did not connect"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def queue(self, prompt: dict) -> str:
        status, body = self.server.post("/prompt", {"prompt": prompt, "client_id": self.client_id})
        assert status == 200, body
        return body["prompt_id"]

    def sampler_progress(self, prompt_id: str, node: str = "ks") -> int:
        """Steps the sampler node of ``prompt_id`` reported (loaders report progress too: not counted)."""
        steps = [e["data"].get("value", 0) for e in list(self.events)
                 if e.get("type") == "progress" and e.get("data", {}).get("prompt_id") == prompt_id
                 and e["data"].get("node") == node]
        return max(steps, default=0)


def _digest(server: ComfyServer, entry: dict) -> str:
    (path,) = output_images(entry, server.output_dir)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _graph_b() -> dict:
    prompt = legacy_api_prompt()
    prompt["8"]["inputs"]["seed"] = 5
    prompt["11"]["inputs"]["filename_prefix"] = "concurrency_b"
    return prompt


def _wait_until(predicate, timeout: float, what: str) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _executed(entry: dict, sampler: str = "8") -> bool:
    """Whether the sampler really ran (ComfyUI serves an unchanged node from its cache)."""
    cached = [m[1]["nodes"] for m in entry["status"]["messages"] if m[0] == "execution_cached"]
    return all(sampler not in nodes for nodes in cached)


@pytest.mark.timeout(2400)  # three BrushNet graphs and a server start; minutes on a loaded 2-core machine
def test_two_clients_one_cancels_mid_run_the_other_matches_its_solo_run(server) -> None:
    soak_runs.free(server)  # nothing cached from earlier tests: B must really run
    long_a = soak_graphs.sd15(seed=21, steps=LONG_STEPS)
    extra_a = soak_graphs.sd15(seed=22)
    ids: dict[str, str] = {}
    with Client(server) as a, Client(server) as b:
        start = threading.Barrier(2)

        def client_a() -> None:
            start.wait()
            ids["a_long"] = a.queue(long_a)
            ids["a_extra"] = a.queue(extra_a)

        def client_b() -> None:
            start.wait()
            ids["b"] = b.queue(_graph_b())

        threads = [threading.Thread(target=client_a), threading.Thread(target=client_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert set(ids) == {"a_long", "a_extra", "b"}

        # A's sampler is running (it reported steps): cancel mid-run
        _wait_until(lambda: a.sampler_progress(ids["a_long"]) >= 2, 1200, "client A's sampler to run")
        pending = [item[1] for item in server.get("/queue")["queue_pending"]]
        assert ids["a_extra"] in pending
        status, _ = server.post("/queue", {"delete": [ids["a_extra"]]})
        assert status == 200
        status, _ = server.post("/interrupt", {"prompt_id": ids["a_long"]})
        assert status == 200

        with pytest.raises(PromptError):
            server.wait(ids["a_long"], timeout=600)
        history_a = server.get(f"/history/{ids['a_long']}")[ids["a_long"]]
        kinds = [m[0] for m in history_a["status"]["messages"]]
        assert "execution_interrupted" in kinds, history_a["status"]["messages"]
        assert not output_images(history_a, server.output_dir)
        assert a.sampler_progress(ids["a_long"]) < LONG_STEPS  # stopped before the end

        entry_b = server.wait(ids["b"], timeout=900)
        assert _executed(entry_b)
        concurrent_b = _digest(server, entry_b)
        assert server.get(f"/history/{ids['a_extra']}") == {}  # deleted while pending: never ran
        _wait_until(lambda: not server.get("/queue")["queue_running"], 120, "the queue to drain")

    # the server keeps serving; B alone (after /free, so it really runs) gives the same bytes, so the
    # interrupted BrushNet graph next to it changed nothing and left nothing behind
    assert server.get("/system_stats")
    soak_runs.free(server)
    solo = server.wait(server.queue(_graph_b()), timeout=900)
    assert _executed(solo)
    assert _digest(server, solo) == concurrent_b
