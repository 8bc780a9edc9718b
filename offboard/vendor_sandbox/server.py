"""What every local vendor endpoint shares: a threaded HTTP server on 127.0.0.1 (a port the
OS picks, so two never collide), started and stopped, usable as a context manager, and the
way a JSON answer is written."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalServer:
    """Subclasses say how a request is answered (`handler_class`); this runs the server."""

    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def base(self) -> str:
        assert self._server is not None, "start the sandbox first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int | None = None) -> Any:  # noqa: ANN401 - the subclass
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port if port is None else port),
                                           self.handler_class())  # fmt: skip
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:  # noqa: ANN401 - the subclass
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    data: bytes,
    content_type: str = "application/json",
) -> None:
    """One answer: status, the vendor's headers, then the JSON body with its length."""
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
