"""The engine's clock: a thread that calls ``Engine.tick`` every ``interval`` seconds, for
rules that fire on time passing rather than on data arriving (stalled runs)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Ticker:
    """``start()`` / ``stop()``; a failing tick is logged and the next one runs as usual."""

    def __init__(self, tick: Callable[[], int], interval: float) -> None:
        self._tick = tick
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="engine-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
            except Exception:  # one bad tick must not stop the clock
                log.exception("engine tick failed; retrying at the next one")
