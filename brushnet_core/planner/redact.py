"""The one boundary where text from a planner backend is cleaned of secrets.

Text a backend produces (an HTTP error body, a 200 body that is not a chat completion, an
exception's message, a model's answer in a repair round, a local model's output) becomes an error
message, a node output (``raw_answer``, ``info``, the UI preview) or a log line. All three pass
through this module, so the scrubbing happens in one place:

* errors and outputs: :func:`plan_safely` runs a backend's ``plan`` (the planner node's only call
  into a backend); an exception leaving it, with its whole ``__cause__``/``__context__`` chain, and
  every text field of the returned plan are scrubbed;
* log lines: :class:`ScrubFilter` sits on the pack's loggers (``BrushEdit``, ``BrushEdit.planner``)
  and scrubs each record's formatted message and exception text before any handler sees it.

What counts as a secret (read from ``os.environ`` at the moment of scrubbing; no value is ever stored
here): the value of every variable NAMED in an OpenAI-compatible planner node's ``api_key_env``
(:func:`register_env_name`), and of every variable whose name ends in KEY, TOKEN, SECRET or PASSWORD
(``OPENAI_API_KEY``, ``HF_TOKEN``...). Values shorter than :data:`MIN_SECRET_LEN` are not treated
as secrets. Independently of the environment, any ``Bearer <token>`` text is masked.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import fields, replace
from typing import Any, Iterable, Optional

from .plan import PlannerError

MASK = "***"
#: shorter environment values are not treated as secrets (masking "1" or "yes" would garble messages)
MIN_SECRET_LEN = 6
#: the shortest remnant of a secret (cut by a truncated quote) that is masked
PARTIAL_LEN = 6
#: environment variable names whose values are secrets even when no node named them
SECRET_NAME = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.I)
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]{4,}", re.I)
#: loggers whose records are scrubbed (the pack's planner and node loggers)
LOGGERS = ("BrushEdit", "BrushEdit.planner")

_names: set[str] = set()
_lock = threading.Lock()


def register_env_name(name: str) -> None:
    """Treat the value of environment variable ``name`` as a secret from now on (the name only is kept)."""
    name = (name or "").strip()
    if name:
        with _lock:
            _names.add(name)


def secret_values(environ: Optional[dict] = None) -> list[str]:
    """The current secret values, longest first (so a key containing another is masked whole)."""
    env = os.environ if environ is None else environ
    with _lock:
        names = set(_names)
    found = {str(v) for k, v in env.items() if (k in names or SECRET_NAME.search(k)) and v}
    return sorted((v for v in found if len(v) >= MIN_SECRET_LEN), key=len, reverse=True)


def _mask_cut(text: str, value: str) -> str:
    """Mask what is left of ``value`` where a quote cut it: a run of at least :data:`PARTIAL_LEN`
    characters that starts like the value (its end was cut off) or ends like it (its start was)."""
    if len(value) <= PARTIAL_LEN:
        return text
    head, tail = value[:PARTIAL_LEN], value[-PARTIAL_LEN:]
    out, i = [], 0
    while (j := text.find(head, i)) >= 0:
        k = PARTIAL_LEN
        while j + k < len(text) and k < len(value) and text[j + k] == value[k]:
            k += 1
        out += [text[i:j], MASK]
        i = j + k
    text = "".join(out) + text[i:]
    out, i = [], 0
    while (j := text.find(tail, i)) >= 0:
        k = PARTIAL_LEN  # extend backwards
        while j - (k - PARTIAL_LEN) - 1 >= i and k < len(value) and \
                text[j - (k - PARTIAL_LEN) - 1] == value[len(value) - k - 1]:
            k += 1
        start = j - (k - PARTIAL_LEN)
        out += [text[i:start], MASK]
        i = j + PARTIAL_LEN
    return "".join(out) + text[i:]


def scrub(text: Any) -> Any:
    """``text`` with every secret value (also cut by a truncated quote, also JSON- or repr-escaped) and
    every bearer token replaced by ``***`` (non-strings unchanged)."""
    if not isinstance(text, str) or not text:
        return text
    forms = sorted({form for value in secret_values()
                    for form in (value, json.dumps(value)[1:-1], repr(value)[1:-1])}, key=len, reverse=True)
    for form in forms:  # whole values first, then what a cut left of them
        if form in text:
            text = text.replace(form, MASK)
    for form in forms:
        text = _mask_cut(text, form)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


def _scrub_deep(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple):
        return tuple(_scrub_deep(v) for v in value)
    if isinstance(value, list):
        return [_scrub_deep(v) for v in value]
    return value


def scrub_exception(exc: BaseException) -> BaseException:
    """Scrub the message of ``exc`` and of every exception chained to it, in place; return ``exc``.

    The exception keeps its type and identity (ComfyUI's interrupt is recognised by type). Where the
    message does not come from ``args`` (e.g. ``OSError``'s ``strerror``) those fields are scrubbed too.
    """
    seen: set[int] = set()
    todo: list[Optional[BaseException]] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        try:
            current.args = _scrub_deep(current.args)
            for attr in ("strerror", "filename", "filename2", "reason", "msg", "body", "detail"):
                value = getattr(current, attr, None)
                if isinstance(value, str):
                    setattr(current, attr, scrub(value))
        except (AttributeError, TypeError):
            pass
        todo += [current.__cause__, current.__context__]
    return exc


def contains_secret(text: str) -> bool:
    return scrub(text) != text


def scrub_plan(plan: Any) -> Any:
    """A copy of a plan (dataclass) with every text field scrubbed (the same object when nothing changed)."""
    changes = {}
    for f in fields(plan):
        value = getattr(plan, f.name)
        clean = _scrub_deep(value)
        if clean != value:
            changes[f.name] = clean
    return replace(plan, **changes) if changes else plan


def plan_safely(backend: Any, *args: Any, **kwargs: Any) -> Any:
    """``backend.plan(*args, **kwargs)`` with the boundary applied: errors and the plan scrubbed."""
    try:
        plan = backend.plan(*args, **kwargs)
    except BaseException as exc:
        scrub_exception(exc)
        if isinstance(exc, Exception) and any(contains_secret(t) for t in _chain_texts(exc)):
            # a message not built from its fields: replace the exception (and drop the chain)
            raise RedactedError(scrub(str(exc))) from None
        raise
    return scrub_plan(plan)


def _chain_texts(exc: BaseException) -> Iterable[str]:
    seen: set[int] = set()
    todo: list[Optional[BaseException]] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        todo += [current.__cause__, current.__context__]


class RedactedError(PlannerError):
    """Raised instead of a backend exception whose text could not be scrubbed in place."""


class ScrubFilter(logging.Filter):
    """Scrubs a record's message (after %-formatting) and its exception text, in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the handler's business
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = ScrubFilter()


def install_log_filter(names: Iterable[str] = LOGGERS) -> None:
    """Put the scrub filter on the pack's loggers (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


install_log_filter()

__all__ = ["MASK", "MIN_SECRET_LEN", "RedactedError", "ScrubFilter", "install_log_filter", "plan_safely", "register_env_name",
           "scrub", "scrub_exception", "scrub_plan", "secret_values"]
