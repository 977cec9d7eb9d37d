"""OpenAI-compatible ``/v1/chat/completions`` planner (OpenAI, vLLM, llama.cpp, LM Studio, Ollama).

Standard library only. The API key is read from the environment variable NAMED in the config at
call time; it is never stored on the object, logged, or put into error messages.

Cancelling: each request runs on a worker thread while the caller polls ``cancel_check`` every
``POLL_S`` seconds (backoff sleeps are sliced the same way). When the check raises, the request's
socket is shut down, so the worker ends at once instead of waiting for ``timeout_s``, and the
check's exception reaches the caller.
"""
from __future__ import annotations

import base64
import functools
import http.client
import io
import json
import logging
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional

from .backend import (
    POLL_S, CancelCheck, ChatPlanner, PlannerAuthError, PlannerError, PlannerHTTPError, PlannerModelNotFound,
    PlannerTimeout, PlannerUnreachable, SYSTEM_PROMPT, Turn, no_cancel, sleep_cancellable,
)

from . import redact
from .plan import PlanInputError
from .prompts import response_format

log = logging.getLogger("BrushEdit.planner")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_MODEL_MISSING = re.compile(r"model.*(not found|does not exist|not exist|unknown|no such)|"
                            r"(unknown|invalid) model", re.I | re.S)


def chat_url(base_url: str) -> str:
    """``http://host:port/v1`` -> ``.../v1/chat/completions``; only http(s) URLs are accepted."""
    url = (base_url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PlanInputError(
            f"base_url {url!r} is not an http(s) URL; use e.g. 'http://127.0.0.1:11434/v1' (Ollama), "
            "'http://127.0.0.1:8000/v1' (vLLM) or 'https://api.openai.com/v1'"
        )
    if parts.username or parts.password:
        raise PlanInputError("base_url must not contain credentials; put the key in an environment variable")
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def check_env_name(name: str) -> str:
    """The env-var NAME widget must hold a name, never a key (the value is never echoed)."""
    name = (name or "").strip()
    if name and not _ENV_NAME.match(name):
        raise PlanInputError(
            "api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key; "
            "the text you typed is not a valid variable name and was not used. Set the key with "
            "`export OPENAI_API_KEY=...` before starting ComfyUI and type only the name here."
        )
    return name


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Requests go only to the configured URL: redirects are refused, not followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


class _Sockets:
    """The sockets one request opened, so that another thread can cut them (cancel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.closed = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if not self.closed:
                return
        _cut(sock)  # cancelled while connecting: end this one too

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            socks = list(self._socks)
        for sock in socks:
            _cut(sock)


def _cut(sock: socket.socket) -> None:
    """Unblock a thread reading ``sock`` (shutdown wakes a blocked recv; close alone may not).

    The plain socket method is used on TLS sockets too, so the TLS object of the reading thread is
    left alone; its read then fails and the abandoned request ends.
    """
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _TrackedConnection:
    """Mixin for http.client connections: registers the socket once connected."""

    def __init__(self, *args: Any, sockets: _Sockets, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sockets = sockets

    def connect(self) -> None:
        super().connect()
        self._sockets.add(self.sock)


class _TrackedHTTPConnection(_TrackedConnection, http.client.HTTPConnection):
    pass


class _TrackedHTTPSConnection(_TrackedConnection, http.client.HTTPSConnection):
    pass


class _TrackedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, sockets: _Sockets) -> None:
        super().__init__()
        self._sockets = sockets

    def http_open(self, req):  # noqa: D401
        return self.do_open(functools.partial(_TrackedHTTPConnection, sockets=self._sockets), req)


class _TrackedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, sockets: _Sockets) -> None:
        super().__init__()
        self._sockets = sockets

    def https_open(self, req):  # noqa: D401
        return self.do_open(functools.partial(_TrackedHTTPSConnection, sockets=self._sockets), req,
                            context=self._context)


class _HTTPStatus(Exception):
    """An HTTP error status with its body, read on the worker thread."""

    def __init__(self, code: int, body: str) -> None:
        super().__init__(code)
        self.code, self.body = code, body


def encode_image(image: Any) -> str:
    """PIL image -> ``data:image/jpeg;base64,...`` URL."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class HTTPPlannerConfig:
    base_url: str
    model: str
    api_key_env: str = ""
    timeout_s: float = 60.0
    retries: int = 2
    backoff_s: float = 1.0
    max_image_side: int = 1024
    box_convention: str = "pixels"
    max_tokens: int = 512
    temperature: float = 0.0
    #: "json_schema": ask for JSON via response_format (falls back to plain text if the server refuses); "off"
    structured_output: str = "json_schema"


class HTTPPlanner(ChatPlanner):
    """Plans through an OpenAI-compatible chat completions endpoint."""

    def __init__(self, config: HTTPPlannerConfig) -> None:
        self.config = config
        self.url = chat_url(config.base_url)
        check_env_name(config.api_key_env)
        redact.register_env_name(config.api_key_env)  # its value is scrubbed from errors, outputs, logs
        if not config.model.strip():
            raise PlanInputError(
                "model is empty: type the model name the server serves (e.g. 'gpt-4o', 'qwen2.5vl:7b')")
        self.box_convention = config.box_convention
        self.name = f"http:{config.model}"
        if config.structured_output not in STRUCTURED_OUTPUT:
            raise PlanInputError(f"structured_output {config.structured_output!r} is not one of {STRUCTURED_OUTPUT}")
        #: None until the server answered a request with response_format; False after it refused one
        self.schema_supported: Optional[bool] = None

    # -- message building -------------------------------------------------------------------
    def prepare(self, image: Any) -> tuple[Any, tuple[int, int]]:
        """Downscale so the longest side is at most ``max_image_side``; boxes refer to that size."""
        w, h = image.size
        side = self.config.max_image_side
        if side > 0 and max(w, h) > side:
            scale = side / max(w, h)
            image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))))
        return image, image.size

    def messages(self, turns: list[Turn], image: Optional[Any]) -> list[dict]:
        """OpenAI messages; the image rides on the first user turn, text-only turns are strings."""
        out: list[dict] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for i, (role, text) in enumerate(turns):
            if i == 0 and role == "user" and image is not None:
                content: Any = [{"type": "text", "text": text},
                                {"type": "image_url", "image_url": {"url": encode_image(image)}}]
            else:
                content = text
            out.append({"role": role, "content": content})
        return out

    def _key(self) -> str:
        name = self.config.api_key_env.strip()
        if not name:
            return ""
        value = os.environ.get(name, "")
        if not value:
            log.warning("[BrushEdit] environment variable %s is not set; calling %s without a key", name, self.url)
        return value

    # -- transport ------------------------------------------------------------------------------
    def chat(self, turns: list[Turn], image: Optional[Any], cancel_check: Optional[CancelCheck] = None) -> str:
        body = {"model": self.config.model, "messages": self.messages(turns, image),
                "temperature": self.config.temperature, "max_tokens": self.config.max_tokens}
        if self.config.structured_output == "json_schema" and self.schema_supported is not False:
            try:
                reply = self.post({**body, "response_format": response_format()}, cancel_check)
            except (PlannerHTTPError, PlannerModelNotFound) as exc:
                if not schema_rejected(exc):
                    raise
                log.warning("[BrushEdit] %s refused response_format (JSON schema); asking without it from now on "
                            "and parsing the answer as text (%s)", self.url, str(exc)[:200])
                self.schema_supported = False
                reply = self.post(body, cancel_check)
            else:
                self.schema_supported = True
        else:
            reply = self.post(body, cancel_check)
        return extract_content(reply, self.url)

    def _exchange(self, request: urllib.request.Request, cancel_check: Optional[CancelCheck] = None) -> bytes:
        """One request on a worker thread; ``cancel_check`` is polled every ``POLL_S`` s meanwhile.

        Returns the body; raises ``_HTTPStatus`` for an HTTP error status and re-raises anything
        else the request raised. When the check raises, the connection is cut and the check's
        exception propagates (the worker then ends within moments, not after ``timeout_s``).
        """
        check = cancel_check or no_cancel
        sockets = _Sockets()
        opener = urllib.request.build_opener(_NoRedirect(), _TrackedHTTPHandler(sockets),
                                             _TrackedHTTPSHandler(sockets))
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                with opener.open(request, timeout=self.config.timeout_s) as resp:
                    result["body"] = resp.read()
            except urllib.error.HTTPError as exc:
                result["error"] = _HTTPStatus(exc.code, _read_body(exc))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                result["error"] = exc

        worker = threading.Thread(target=work, name="BrushEdit planner HTTP", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                check()
                worker.join(POLL_S)
        except BaseException:
            sockets.close_all()
            raise
        if "error" in result:
            raise result["error"]
        return result["body"]

    def post(self, body: dict, cancel_check: Optional[CancelCheck] = None) -> dict:
        """POST with retries and exponential backoff; map failures to distinct errors.

        ``cancel_check`` is called while waiting for the server and during backoff; its
        exception (e.g. ComfyUI's interrupt) ends the call at once, without further retries.
        """
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = "Bearer " + key
        tries = max(0, int(self.config.retries)) + 1
        last: Optional[Exception] = None
        for attempt in range(tries):
            if attempt:
                delay = self.config.backoff_s * (2 ** (attempt - 1))
                log.info("[BrushEdit] planner retry %d/%d in %.1fs (%s)", attempt, tries - 1, delay, last)
                sleep_cancellable(delay, cancel_check)
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                raw = self._exchange(request, cancel_check)
            except _HTTPStatus as exc:
                err = self._http_error(exc.code, exc.body)  # scrubbed at the boundary (redact.py)
                if exc.code not in _RETRY_STATUS:
                    raise err from None
                last = err
                continue
            except (TimeoutError, socket.timeout) as exc:
                last = exc
                continue
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    last = exc.reason
                    continue
                raise PlannerUnreachable(
                    f"cannot reach the planner endpoint {self.url}: {exc.reason}. Is the server running "
                    "and is base_url right (scheme, host, port, '/v1')?"
                ) from None
            except (ConnectionError, OSError) as exc:
                raise PlannerUnreachable(
                    f"cannot reach the planner endpoint {self.url}: {exc}. Is the server running?"
                ) from None
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise PlannerHTTPError(
                    f"{self.url} answered with something that is not JSON: {raw[:300]!r}; "
                    "is base_url an OpenAI-compatible API (ending in /v1)?"
                ) from None
        if isinstance(last, (TimeoutError, socket.timeout)):
            raise PlannerTimeout(
                f"no answer from {self.url} within {self.config.timeout_s:g}s ({tries} tries); "
                "raise timeout_s, use a smaller model, or check the server's load"
            )
        raise last if isinstance(last, PlannerError) else PlannerHTTPError(str(last))

    def _http_error(self, code: int, detail: str) -> PlannerError:
        snippet = detail[:300]
        if code in (401, 403):
            env = self.config.api_key_env.strip()
            where = f"the environment variable {env}" if env else "no environment variable (api_key_env is empty)"
            return PlannerAuthError(
                f"{self.url} refused the request with HTTP {code} (API key missing or rejected); the key "
                f"is read from {where}. Set it before starting ComfyUI. Server said: {snippet}"
            )
        if code == 404 or (code == 400 and _MODEL_MISSING.search(detail)):
            if _MODEL_MISSING.search(detail):
                return PlannerModelNotFound(
                    f"model {self.config.model!r} was not found at {self.url} (HTTP {code}); check the model "
                    f"name (e.g. `ollama list`, GET /v1/models). Server said: {snippet}"
                )
            return PlannerModelNotFound(
                f"{self.url} does not exist (HTTP 404); base_url should end in '/v1'. Server said: {snippet}"
            )
        return PlannerHTTPError(f"{self.url} failed with HTTP {code}: {snippet}")


STRUCTURED_OUTPUT = ("json_schema", "off")
_SCHEMA_WORDS = re.compile(r"response_format|json_schema|json schema|structured output|grammar|schema", re.I)


def schema_rejected(exc: Exception) -> bool:
    """Whether an HTTP failure looks like the server refusing ``response_format`` (then retry without it)."""
    text = str(exc)
    if _SCHEMA_WORDS.search(text):
        return True
    return isinstance(exc, PlannerHTTPError) and bool(re.search(r"\bHTTP (?:400|415|422|501)\b", text))


def _read_body(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the body is only used for the message
        return ""


def extract_content(reply: Any, url: str = "") -> str:
    """``choices[0].message.content`` as text (parts lists joined)."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise PlannerHTTPError(
            f"{url} did not return an OpenAI chat completion (no choices[0].message.content): "
            f"{json.dumps(reply)[:300]}"
        ) from None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise PlannerHTTPError(f"{url} returned message content {content!r}, expected text")
    return content
