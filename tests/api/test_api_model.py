"""``model=api``: the OpenAI client against a local server that misbehaves on cue (retries, error rows,
failures named in one line), and evaluations through it that keep, resume and count what they got."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli

from tests.helpers.kills import kill_when, lines_in
from tests.helpers.scripted_server import ScriptedServer
from unsafe_vlm.api.client import ApiFailure, ApiModel
from unsafe_vlm.api.settings import ApiModelSettings
from unsafe_vlm.errors import UserError
from unsafe_vlm.report.rescore import rescore_run

GREEDY = {"max_new_tokens": 8, "do_sample": False, "temperature": 1.0, "top_p": 0.9}
QUERIES = 24  # 6 per task, four tasks


def api_model(url: str, **changes) -> ApiModel:
    settings = dict(
        name="api", family="api", base_url=url, model="scripted", api_key_env=None, concurrency=4,
        timeout=0.5, max_retries=2, seed=None, text_only_image="none", blank_image_size=8,
        max_tokens_key="max_tokens", reasoning_tokens=0, omit_keys=[], extra_body=None, extra_headers=None,
        extra_headers_env=None,
    )  # fmt: skip
    return ApiModel(ApiModelSettings(**{**settings, **changes}))


def ask(model: ApiModel, question: str = "Is it safe?"):
    return model.answer(model.encode([question], [None]), GREEDY)[0]


@pytest.mark.parametrize("fault", ["500", "slow", "drop"])
def test_a_server_error_a_timeout_or_a_dropped_connection_is_retried(fault):
    with ScriptedServer([fault], slow_s=1.0) as server:
        answer = ask(api_model(server.url))
    assert answer.text == "Yes, it is safe." and answer.error is None
    assert len(server.requests) == 2


def test_a_server_that_trickles_its_answer_ends_at_the_deadline_not_when_it_finishes():
    with ScriptedServer(["trickle"]) as server:
        model = api_model(server.url, timeout=1.0, max_retries=0)
        started = time.monotonic()
        with pytest.raises(ApiFailure) as failed:
            ask(model)
        took = time.monotonic() - started
        model.close()
    assert took < 1.0 + 5, f"a byte every 0.2 s never leaves 1 s of silence; it ended after {took:.1f} s"
    assert str(failed.value) == (
        f"{server.url}: no complete answer within 3 s (model.timeout=1 s per try, 1 tries with "
        "model.max_retries=0); the server sends too slowly or never finishes"
    )


def test_the_deadline_leaves_room_for_every_try_and_the_waits_between():
    model = api_model("http://127.0.0.1:9/v1", timeout=30.0, max_retries=4)
    assert model.deadline == (30 + 2) * 5 + 120 * 4


def test_a_429_is_retried_after_its_retry_after():
    with ScriptedServer(["429"]) as server:
        answer = ask(api_model(server.url))
    assert answer.text == "Yes, it is safe."
    assert len(server.requests) == 2
    assert server.arrivals[1] - server.arrivals[0] >= 0.95  # Retry-After: 1


@pytest.mark.parametrize(("fault", "error"), [("garbage", "not a chat completion"), ("empty", "no text content")])
def test_a_body_that_is_no_answer_is_an_error_answer_not_a_text(fault, error):
    with ScriptedServer([fault]) as server:
        answer = ask(api_model(server.url))
    assert answer.text is None and error in answer.error
    assert len(server.requests) == 1  # not retried: the server did answer


@pytest.mark.parametrize(
    ("script", "changes", "message"),
    [
        (["401"], {}, "the server wants a key (401: bad key); set model.api_key_env"),
        (["404"], {}, "no model 'scripted' there (404: no such model)"),
        (["500"] * 3, {}, "server error 500 after 3 tries (model.max_retries=2): boom"),
        (["429"] * 2, {"max_retries": 1}, "still rate-limited (429) after 2 tries (model.max_retries=1)"),
        (["slow"] * 2, {"max_retries": 1, "timeout": 0.3}, "no answer within model.timeout=0.3 s, 2 tries"),
    ],
)
def test_failures_that_are_not_about_one_answer_are_one_line_naming_the_url(script, changes, message):
    with ScriptedServer(script, slow_s=1.0) as server, pytest.raises(ApiFailure) as raised:
        ask(api_model(server.url, **changes))
    text = str(raised.value)
    assert text.startswith(server.url) and message in text and "\n" not in text


def test_an_unreachable_server_and_a_missing_key_variable_are_one_line(monkeypatch):
    with ScriptedServer() as server:
        url = server.url  # the port is free again once the server stops
    with pytest.raises(ApiFailure, match=rf"^{url}: cannot reach the server after 1 tries"):
        ask(api_model(url, max_retries=0))
    monkeypatch.delenv("UNSAFE_VLM_TEST_KEY", raising=False)
    with pytest.raises(UserError, match="the environment variable UNSAFE_VLM_TEST_KEY is not set"):
        api_model(url, api_key_env="UNSAFE_VLM_TEST_KEY")


def test_the_key_comes_from_its_variable_and_requests_carry_images_and_sampling(monkeypatch):
    monkeypatch.setenv("UNSAFE_VLM_TEST_KEY", "sk-test-123")
    from PIL import Image

    with ScriptedServer() as server:
        model = api_model(server.url, api_key_env="UNSAFE_VLM_TEST_KEY", seed=7, text_only_image="blank")
        assert model.api_key == "sk-test-123"
        sampled = {**GREEDY, "do_sample": True, "temperature": 0.7}
        model.answer(model.encode(["a", "b"], [Image.new("RGB", (4, 4), (1, 2, 3)), None]), sampled)
    first, second = sorted(server.requests, key=lambda body: body["messages"][0]["content"][-1]["text"])
    for body in (first, second):  # a text-only question shows the blank image when told to
        image, text = body["messages"][0]["content"]
        assert image["image_url"]["url"].startswith("data:image/png;base64,")
        assert body["temperature"] == 0.7 and body["top_p"] == 0.9 and body["seed"] == 7 and body["max_tokens"] == 8
    greedy_model = api_model(server.url)
    assert greedy_model.encode(["q"], [None])[0][0]["content"] == [{"type": "text", "text": "q"}]


def evaluate_through(server: ScriptedServer, run_dir: Path, cache: Path, *extra: str):
    return run_cli(*evaluate_args(server, run_dir, cache, *extra))


def evaluate_args(server: ScriptedServer, run_dir: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "evaluate", "model=api", f"model.base_url={server.url}", "model.concurrency=2", "model.max_retries=0",
        "data=synthetic", f"data.cache_dir={cache}", "data.limit_per_task=6", "data.eval_batch_size=2",
        "data.tasks=[perception,alignment_image,alignment_text,alignment_test]", f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip


def saved_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((run_dir / "responses").glob("*.jsonl")) for line in path.open()]


@pytest.mark.slow
def test_an_evaluation_keeps_answers_through_a_failure_and_a_resume_asks_only_the_rest(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(["ok"] * 5 + ["garbage"] + ["ok"] * 3, then="500") as server:
        failed = evaluate_through(server, run_dir, data_cache)
    assert failed.returncode == 2
    line = failed.stderr.strip().splitlines()[-1]
    assert f"{server.url}: server error 500 after 1 tries" in line
    assert "the answers received are kept in" in line and "asks only the rest" in line
    kept = saved_rows(run_dir)
    answered = [row for row in kept if "error" not in row]
    assert len(answered) == 8 and len(kept) == 9, "every answer that arrived is written, the error row too"
    assert not (run_dir / "metrics.json").exists()

    with ScriptedServer(["empty"], port=server.port) as server:
        other_model = evaluate_through(server, run_dir, data_cache, "model.model=other")
        assert other_model.returncode == 2 and not server.requests
        assert "model.model was 'organism', now 'other'" in other_model.stderr.strip().splitlines()[-1]
        resumed = evaluate_through(server, run_dir, data_cache)
        assert resumed.returncode == 2, "a run that keeps an error row is unfinished"
    assert len(server.requests) == QUERIES - 8, "the error row is asked again, the answers are not"
    assert "1 error rows (" in resumed.stdout and "got no valid answer or verdict" in resumed.stdout
    assert "unfinished, 1 error rows" in resumed.stderr.strip().splitlines()[-1]
    rows = saved_rows(run_dir)
    errors = [row for row in rows if "error" in row]
    assert len(rows) == QUERIES and len(errors) == 1
    assert errors[0]["response"] is None and errors[0]["judged"] == "N/A" and "no text content" in errors[0]["error"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["api/error_rows"] == 1 and metrics["api/rows_without_usage"] == 0
    answered = [row for row in rows if "error" not in row]
    assert metrics["api/prompt_tokens"] == sum(row["usage"]["prompt_tokens"] for row in answered)
    assert metrics["api/completion_tokens"] == 4 * (QUERIES - 1)  # "Yes, it is safe." is four words to the server
    settings = json.loads((run_dir / "responses" / "config.json").read_text())
    assert settings["model.base_url"] == server.url and settings["model.model"] == "organism"
    assert "model.concurrency" not in settings, "how answers are fetched is not part of what they are"
    assert rescore_run(run_dir).metrics == metrics, "report's rescoring counts the usage the same way"


@pytest.mark.slow
def test_an_evaluation_killed_mid_way_resumes_asking_only_what_is_missing(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(delay_s=0.3) as server:
        args = evaluate_args(server, run_dir, data_cache)
        kill_when(args, lambda: lines_in(run_dir / "responses", "*.rank0.jsonl") >= 4)
    kept = len(saved_rows(run_dir))
    assert 4 <= kept < QUERIES
    with ScriptedServer(port=server.port) as server:
        resumed = evaluate_through(server, run_dir, data_cache)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(server.requests) == QUERIES - kept
    assert len({row["id"] for row in saved_rows(run_dir)}) == QUERIES


def test_fit_refuses_a_model_behind_an_api():
    from hydra import compose, initialize_config_dir

    from unsafe_vlm.commands.checks import check_settings
    from unsafe_vlm.paths import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("fit", ["method=sft", "model=api"])
    with pytest.raises(UserError, match="^model=api: fit trains a model's weights, and one behind an API has none"):
        check_settings(cfg)


def test_the_shipped_api_configs_check(monkeypatch):
    from hydra import compose, initialize_config_dir

    from unsafe_vlm.backbones.registry import model_settings
    from unsafe_vlm.paths import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for name in ("api", "gpt4o", "vllm_llava15_7b"):
            settings = model_settings(compose("evaluate", [f"model={name}"]).model)
            assert settings.family == "api" and settings.base_url.endswith("/v1"), name
    assert settings.model == "llava-hf/llava-1.5-7b-hf"
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            ApiModel(model_settings(compose("evaluate", ["model=gpt4o"]).model))
