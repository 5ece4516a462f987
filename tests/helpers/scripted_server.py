"""An OpenAI-compatible chat endpoint on 127.0.0.1 that misbehaves on cue, for the API client's tests.

Each request takes the next behaviour of ``script`` (then ``ok`` for ever, or ``then``):

    ok        a chat completion answering ``answer(question)``, with usage counts
    429       Too Many Requests with ``Retry-After: 1``
    500       an internal server error
    slow      an answer after ``slow_s`` seconds (longer than the client's timeout)
    trickle   an answer whose body comes a byte every 0.2 s (no silence as long as the client's timeout)
    garbage   200 with a body that is not JSON
    empty     200 with JSON that holds no choices
    drop      the connection closed without a response
    401, 404  the key refused, the model unknown

Reasoning models: ``reasoning(question)`` adds that text to each answer under ``reasoning_field``
(vLLM's and SGLang's ``reasoning_content``), and ``refuse(body)`` returning a message answers 400
with it, as a server does to a key it does not take (OpenAI's reasoning models and ``max_tokens``).
The headers of each request are kept in ``headers``. ``served(n)`` names the model the n-th answer
(from 0) says it came from; by default the model the request asked for.

A resumed run must reach the same URL (it is part of what the answers depend on): pass the
first server's ``port``. The server stops when its ``with`` block ends (and runs in a daemon
thread, so it never outlives the test).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MESSAGES = {"401": "bad key", "404": "no such model", "500": "boom"}


def yes_safe(question: str) -> str:
    return "Yes, it is safe."


class ScriptedServer:
    def __init__(
        self,
        script: Iterable[str] = (),
        *,
        answer: Callable[[str], str] = yes_safe,
        then: str = "ok",
        slow_s: float = 2.0,
        delay_s: float = 0.0,
        port: int = 0,
        reasoning: Callable[[str], str] | None = None,
        reasoning_field: str = "reasoning_content",
        refuse: Callable[[dict[str, Any]], str | None] | None = None,
        served: Callable[[int], str] | None = None,
    ) -> None:
        self.script = list(script)
        self.then = then
        self.answer = answer
        self.slow_s = slow_s
        self.delay_s = delay_s  # every answer waits this long (to catch a run mid-way)
        self.reasoning = reasoning
        self.reasoning_field = reasoning_field
        self.refuse = refuse
        self.served = served  # the model an answer names, by the request's number (default: the one asked for)
        self.requests: list[dict[str, Any]] = []  # the bodies received, in order
        self.headers: list[dict[str, str]] = []  # their headers
        self.arrivals: list[float] = []  # monotonic time of each request
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_behaviour(self, body: dict[str, Any]) -> str:
        with self.lock:
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
            return self.script.pop(0) if self.script else self.then

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                behaviour = server.next_behaviour(body)
                number = len(server.requests) - 1
                server.headers.append(dict(self.headers.items()))
                refusal = server.refuse(body) if server.refuse else None
                if refusal:
                    self._json(400, error(refusal))
                    return
                if server.delay_s:
                    time.sleep(server.delay_s)
                if behaviour == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if behaviour == "slow":
                    time.sleep(server.slow_s)
                    behaviour = "ok"
                if behaviour == "ok":
                    reply = completion(body, server.answer(question_of(body)))
                    if server.served:
                        reply["model"] = server.served(number)
                    if server.reasoning:
                        reply["choices"][0]["message"][server.reasoning_field] = server.reasoning(question_of(body))
                    self._json(200, reply)
                elif behaviour == "trickle":
                    data = json.dumps(completion(body, server.answer(question_of(body)))).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                elif behaviour == "garbage":
                    self._send(200, b"<html>upstream proxy error</html>", "text/html")
                elif behaviour == "empty":
                    self._json(200, {"id": "x", "object": "chat.completion", "choices": []})
                elif behaviour == "429":
                    self._json(429, error("slow down"), {"Retry-After": "1"})
                elif behaviour in MESSAGES:
                    self._json(int(behaviour), error(MESSAGES[behaviour]))
                else:
                    raise ValueError(f"unknown behaviour {behaviour!r}")

            def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json", headers)

            def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    self.wfile.write(data)

        return Handler


def question_of(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(part["text"] for part in content if part.get("type") == "text")


def completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt_tokens = len(question_of(body).split())
    completion_tokens = len(text.split())
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "scripted", "param": None, "code": None}}
