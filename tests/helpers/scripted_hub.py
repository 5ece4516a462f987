"""A local HTTP server that answers as the Hugging Face hub does, for tests that must not use the network.

Each route maps a request path to (status, headers, body); huggingface_hub reads what a failure was
from the status and the ``X-Error-Code`` header (``GatedRepo``, ``RepoNotFound``, ...).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, dict[str, str], bytes]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def gated(repo: str) -> Reply:
    """The hub's reply for a file of a gated repository asked for without a token that has access."""
    message = f"Access to model {repo} is restricted. You must have access to it and be authenticated to access it."
    return 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": message}, b""


def not_found() -> Reply:
    return 404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}, b""


def config_file(config: dict) -> Reply:
    """A config.json the hub serves, with the headers huggingface_hub needs to cache it."""
    body = json.dumps(config).encode()
    etag = hashlib.sha1(body).hexdigest()
    return 200, {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Content-Type": "application/json"}, body


@contextmanager
def scripted_hub(routes: dict[str, Reply]) -> Iterator[str]:
    """Serve ``routes`` (request path -> reply; 404 otherwise) on a free local port; yields the endpoint URL."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, with_body: bool) -> None:
            status, headers, body = routes.get(self.path.split("?")[0], not_found())
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
            self._reply(with_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._reply(with_body=True)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
