"""Every error the pack raises on purpose is a ``BrushEditError`` of its area (issue #15).

ComfyUI's error dialog shows the exception's class name above the message, so a bare ``ValueError``
says nothing about where it came from. Each area has its own subclass (which also derives from the
built-in it replaced, so ``except ValueError`` still catches it); these tests keep it that way:

- no code under ``brushnet_core/`` or ``nodes/`` builds a built-in exception (``raise ValueError(...)``,
  ``raise KeyError``, ``return FileNotFoundError(...)``); ``NotImplementedError`` (an abstract method)
  and a bare ``raise`` stay allowed;
- every exception class the pack defines derives from ``BrushEditError`` (core classes by import,
  node classes by reading the source, as node modules need the host).
"""
from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from pathlib import Path

import _harness
from brushnet_core.errors import BrushEditError

ROOT = _harness.ROOT
SCANNED = ("brushnet_core", "nodes")

#: built-in exceptions that may still be raised: an abstract method's, and the iterator protocol's
ALLOWED_BUILTINS = {"NotImplementedError", "StopIteration", "StopAsyncIteration"}
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, Exception)} - ALLOWED_BUILTINS

#: exception classes that never reach the user, by "module.qualname", with the reason
PRIVATE_EXCEPTIONS = {
    # an HTTP error status handed from the request's worker thread to HTTPPlanner.post, which always
    # catches it and raises a PlannerError (PlannerHTTPError, PlannerAuthError, ...) in its place
    "brushnet_core.planner.http_backend._HTTPStatus",
}


def _files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))


def builtin_exceptions_built(source: str) -> list[tuple[int, str]]:
    """(line, name) of every built-in exception the source raises or builds (``raise X``, ``X(...)``)."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BUILTIN_EXCEPTIONS:
            found.add((node.lineno, node.func.id))
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name) and node.exc.id in BUILTIN_EXCEPTIONS:
            found.add((node.lineno, node.exc.id))
    return sorted(found)


def test_no_builtin_exception_is_raised() -> None:
    """Each deliberate raise names its area: a BrushEditError subclass, not a bare built-in."""
    bad = [f"{path.relative_to(ROOT)}:{line}: {name}"
           for path in _files() for line, name in builtin_exceptions_built(path.read_text(encoding="utf-8"))]
    assert not bad, ("raise the BrushEditError subclass of the area (one that also derives from the built-in, "
                     "so callers' except clauses keep working) instead of:\n  " + "\n  ".join(bad))


def test_the_check_finds_a_builtin_raise() -> None:
    """The scan above flags the forms it should and leaves the allowed ones alone."""
    probe = (
        "class AreaError(BrushEditError, ValueError):\n"           # 1
        "    pass\n"                                                # 2
        "def f(x):\n"                                               # 3
        "    if x == 1:\n"                                          # 4
        "        raise ValueError(f'bad {x}')\n"                    # 5  flagged
        "    if x == 2:\n"                                          # 6
        "        raise KeyError\n"                                  # 7  flagged
        "    if x == 3:\n"                                          # 8
        "        raise RuntimeError(\n"                             # 9  flagged
        "            'multi-line')\n"                               # 10
        "    if x == 4:\n"                                          # 11
        "        return TypeError('built, raised elsewhere')\n"     # 12 flagged
        "    if x == 5:\n"                                          # 13
        "        raise Exception('catch-all')\n"                    # 14 flagged
        "    try:\n"                                                # 15
        "        pass\n"                                            # 16
        "    except ValueError as exc:\n"                           # 17 allowed (catching)
        "        raise AreaError('ours') from exc\n"                # 18 allowed
        "    except (TypeError, KeyError):\n"                       # 19 allowed
        "        raise\n"                                           # 20 allowed
        "    if isinstance(x, ValueError):\n"                       # 21 allowed
        "        raise NotImplementedError('abstract')\n"           # 22 allowed
        "    raise AreaError('ours') from None\n"                   # 23 allowed
    )
    assert builtin_exceptions_built(probe) == [(5, "ValueError"), (7, "KeyError"), (9, "RuntimeError"),
                                               (12, "TypeError"), (14, "Exception")]


def _core_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "brushnet_core").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        names.append(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
    return sorted(set(names))


def _core_exception_classes() -> dict[str, type]:
    """Every exception class defined in brushnet_core, by "module.qualname"."""
    found: dict[str, type] = {}
    for name in _core_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_core_exception_class_is_a_brushedit_error() -> None:
    classes = _core_exception_classes()
    assert "brushnet_core.image.mask_ops.ImageInputError" in classes  # the import found the pack's classes
    assert PRIVATE_EXCEPTIONS <= set(classes), "a private exception listed here no longer exists: drop it"
    bad = [name for name, cls in classes.items()
           if not issubclass(cls, BrushEditError) and name not in PRIVATE_EXCEPTIONS]
    assert not bad, f"derive these from BrushEditError (via the class of their area): {bad}"


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def test_every_node_exception_class_is_a_brushedit_error() -> None:
    """nodes/ needs the host to import, so its classes are read from the source; a base is known by name."""
    ours = {cls.__name__ for cls in _core_exception_classes().values() if issubclass(cls, BrushEditError)}
    exceptions = set(BUILTIN_EXCEPTIONS | ALLOWED_BUILTINS | {"BaseException"}) | {
        cls.__name__ for cls in _core_exception_classes().values()}
    classes: list[tuple[str, str, list[str]]] = []
    for path in sorted((ROOT / "nodes").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                classes.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.name,
                                [_base_name(b) for b in node.bases]))
    changed = True
    while changed:  # classes deriving from node classes, to a fixed point
        changed = False
        for _, name, bases in classes:
            if name not in exceptions and any(b in exceptions for b in bases):
                exceptions.add(name)
                changed = True
            if name not in ours and any(b in ours for b in bases):
                ours.add(name)
                changed = True
    node_exceptions = [(where, name) for where, name, bases in classes if any(b in exceptions for b in bases)]
    assert any(name == "OptionError" for _, name in node_exceptions)  # the scan found nodes/glue/errors.py
    bad = [f"{where}: {name}" for where, name in node_exceptions if name not in ours]
    assert not bad, f"derive these from BrushEditError (via the class of their area): {bad}"
