"""Pressing ComfyUI's Cancel in tests, the way the UI does it: ``interrupt_current_processing(True)``
from another thread while the real executor runs a graph (shared by the planner and text-mask tests)."""
from __future__ import annotations

import threading
import time
from typing import Callable

import _harness


def model_management():
    """ComfyUI's comfy.model_management (imported once the host is booted)."""
    import comfy.model_management as mm

    return mm


class CancelButton:
    """Presses Cancel from a timer thread ``delay`` s after ``trigger()`` is true; clears the flag on exit.

    On exit the thread is stopped and the interrupt flag is cleared, whatever happened.
    """

    def __init__(self, trigger: Callable[[], object], delay: float = 0.5) -> None:
        self.trigger, self.delay = trigger, delay
        self.pressed_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test cancel button", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.trigger():
                if not self._stop.wait(self.delay):
                    self.pressed_at = time.monotonic()
                    model_management().interrupt_current_processing(True)
                return
            self._stop.wait(0.01)

    def __enter__(self) -> "CancelButton":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        model_management().interrupt_current_processing(False)


def hold_until_cancelled(limit_s: float = 5.0) -> None:
    """Wait (at most ``limit_s``) until Cancel is pressed: a model step that takes time while the user
    reaches for the button."""
    deadline = time.monotonic() + limit_s
    while not model_management().processing_interrupted() and time.monotonic() < deadline:
        time.sleep(0.01)


def run_cancelled(prompt: dict, button: CancelButton) -> tuple[float, dict | None]:
    """Run ``prompt`` on the real executor while ``button`` waits to press Cancel; returns (seconds from the
    press to the end of the run, the ``execution_interrupted`` message or None)."""
    with button:
        try:
            _harness.run_prompt(prompt)
        except _harness.PromptFailed:
            pass
        end = time.monotonic()
    messages = _harness._executor.status_messages
    interrupted = [d for e, d in messages if e == "execution_interrupted"]
    errors = [d.get("exception_message") for e, d in messages if e == "execution_error"]
    assert button.pressed_at is not None, f"the run ended before Cancel was pressed (errors: {errors})"
    return end - button.pressed_at, (interrupted[0] if interrupted else None)
