"""Evaluation through ``serve``: queries/s of ``model=api`` at concurrency 1 and 16, with and without batching.

``python -m unsafe_vlm serve`` runs in its own process (its torch threads are ``--threads``); this
process asks it the same alignment queries (with their images) through the suite's ``ApiModel`` and
the official ``openai`` client, greedy, three ways:

  batched, concurrency 1     one request at a time: the floor any client gets
  batched, concurrency 16    16 requests in flight, gathered by the server into batched generates
  one at a time, conc. 16    the same 16 in flight, the server told to answer one per generate
                             (serve.max_batch_size=1): what the batching itself buys

Each way warms up once, then times ``--repeats`` passes over the queries (median). The chat
messages (base64 PNG images) are built before the clock starts, as DataLoader workers build them
in an evaluation.

    python tools/bench_serve.py                          # the tiny model, 64 queries
    python tools/bench_serve.py --model organism --queries 128
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager

WAYS = (
    ("batched, concurrency 1", 16, 1),
    ("batched, concurrency 16", 16, 16),
    ("one at a time, concurrency 16", 1, 16),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="a conf/model name (default: tiny)")
    parser.add_argument("--queries", type=int, default=64, help="alignment_image queries to answer")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="the server's torch CPU threads")
    args = parser.parse_args()

    from bench.queries import benchmark_records

    records = benchmark_records(args.queries)
    rows = []
    for label, server_batch, concurrency in WAYS:
        with running_server(args.model, server_batch, args.threads) as url:
            rows.append({"way": label, "queries_per_s": measure(url, args, records, concurrency)})
    print_table(rows, args)


def measure(url: str, args: argparse.Namespace, records: list, concurrency: int) -> float:
    from unsafe_vlm.api.client import ApiModel
    from unsafe_vlm.api.settings import ApiModelSettings

    model = ApiModel(
        ApiModelSettings(
            name="api", family="api", base_url=url, model=args.model, api_key_env=None, concurrency=concurrency,
            timeout=600, max_retries=0, seed=None, text_only_image="none", blank_image_size=32,
        )
    )  # fmt: skip
    messages = model.encode([r.question for r in records], [r.load_image() for r in records])
    generation = {"max_new_tokens": args.max_new_tokens, "do_sample": False, "temperature": 1.0, "top_p": 1.0}
    model.answer(messages, generation)  # warm-up
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        answers = model.answer(messages, generation)
        seconds.append(time.perf_counter() - start)
        if any(answer.error for answer in answers):
            raise SystemExit(f"the server gave error answers: {[a.error for a in answers if a.error][:3]}")
    model.close()
    return len(records) / statistics.median(seconds)


@contextmanager
def running_server(model: str, max_batch_size: int, threads: int):
    port = free_port()
    command = [
        sys.executable, "-m", "unsafe_vlm", "serve", f"model={model}", f"serve.port={port}",
        f"serve.max_batch_size={max_batch_size}", f"hydra.run.dir={tempfile.mkdtemp(prefix='bench_serve_')}",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        server.stderr.close()


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"serve exited with {server.returncode}: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"serve did not answer at {url} within {timeout:.0f} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    from bench.table import machine_line, markdown_table, versions_line

    floor = rows[0]["queries_per_s"]
    print(machine_line("cpu", args.threads) + " (the server's threads)")
    print(versions_line(("torch", "transformers", "openai", "fastapi", "uvicorn", "unsafe-vlm")))
    print(
        f"model {args.model}, {args.queries} alignment queries with images, {args.max_new_tokens} new tokens max, "
        f"greedy, median of {args.repeats}"
    )
    table = [[row["way"], f"{row['queries_per_s']:.1f}", f"{row['queries_per_s'] / floor:.2f}"] for row in rows]
    print(markdown_table(["way", "queries/s", "x concurrency 1"], table, numeric=[False, True, True]))


if __name__ == "__main__":
    main()
