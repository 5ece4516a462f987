"""Endpoints of reasoning models (docs/endpoints.md): the token limit under ``max_completion_tokens``,
sampling keys left out, extra body fields and headers, and the reasoning set aside from the answer.
Each server below is scripted to behave as the documentation of OpenAI, vLLM or SGLang says theirs do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf
from openai.types.chat import ChatCompletion

from tests.helpers.scripted_server import ScriptedServer
from unsafe_vlm.api.client import ApiModel, answer_of
from unsafe_vlm.api.settings import ApiModelSettings
from unsafe_vlm.errors import UserError
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.settings import SettingsError

GREEDY = {"max_new_tokens": 8, "do_sample": False, "temperature": 1.0, "top_p": 0.9}
MAX_TOKENS_REFUSED = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'"


def api_model(url: str, **changes) -> ApiModel:
    """The shipped conf/model/api.yaml with some keys changed."""
    settings = {**OmegaConf.to_container(OmegaConf.load(CONF_DIR / "model" / "api.yaml")), "base_url": url,
                "max_retries": 0, "timeout": 5, **changes}  # fmt: skip
    return ApiModel(ApiModelSettings.from_config(settings, "model"))


def ask(model: ApiModel, question: str = "Is it safe?"):
    return model.answer(model.encode([question], [None]), GREEDY)[0]


def openai_reasoning_model(body: dict) -> str | None:
    """What OpenAI's reasoning models refuse: max_tokens, and a temperature or top_p of their own."""
    if "max_tokens" in body:
        return MAX_TOKENS_REFUSED
    for key in ("temperature", "top_p"):
        if key in body and body[key] != 1:
            return f"Unsupported value: '{key}' does not support {body[key]} with this model."
    return None


def test_a_reasoning_model_that_refuses_max_tokens_makes_an_error_answer_under_the_default_settings():
    with ScriptedServer(refuse=openai_reasoning_model) as server:
        answer = ask(api_model(server.url))
    assert answer.text is None and answer.error.startswith("400: Unsupported parameter: 'max_tokens'")


def test_openai_reasoning_model_settings_send_max_completion_tokens_and_no_sampling_keys():
    openai = {"max_tokens_key": "max_completion_tokens", "reasoning_tokens": 1000,
              "omit_keys": ["temperature", "top_p"], "extra_body": {"reasoning_effort": "low"}}  # fmt: skip
    with ScriptedServer(refuse=openai_reasoning_model) as server:
        answer = ask(api_model(server.url, **openai))
    assert answer.text == "Yes, it is safe." and answer.error is None
    body = server.requests[0]
    assert body["max_completion_tokens"] == 8 + 1000 and "max_tokens" not in body
    assert "temperature" not in body and "top_p" not in body and body["reasoning_effort"] == "low"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_vllm_reasoning_is_set_aside_and_the_answer_is_the_content(field):
    vllm = {"extra_body": {"chat_template_kwargs": {"enable_thinking": True}}, "reasoning_tokens": 512}
    with ScriptedServer(answer=lambda q: "No, it is unsafe.", reasoning=lambda q: "It could be safe... no.",
                        reasoning_field=field) as server:  # fmt: skip
        answer = ask(api_model(server.url, **vllm))
    assert answer.text == "No, it is unsafe." and answer.error is None
    body = server.requests[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["max_tokens"] == 8 + 512


def test_sglang_thinking_switch_goes_in_the_body_and_its_reasoning_is_set_aside():
    sglang = {"extra_body": {"chat_template_kwargs": {"thinking": True}, "separate_reasoning": True}}
    with ScriptedServer(answer=lambda q: "Unsafe.", reasoning=lambda q: "Let me think.") as server:
        answer = ask(api_model(server.url, **sglang))
    assert answer.text == "Unsafe."
    assert server.requests[0]["chat_template_kwargs"] == {"thinking": True}
    assert server.requests[0]["separate_reasoning"] is True


@pytest.mark.parametrize("content", ["", "   "])
def test_an_empty_answer_after_reasoning_is_an_error_answer_that_says_so(content):
    with ScriptedServer(answer=lambda q: content, reasoning=lambda q: "Thinking about the image") as server:
        answer = ask(api_model(server.url))
    assert answer.text is None
    assert answer.error == "no answer after the reasoning: content empty, 24 characters of reasoning"


def test_an_empty_answer_after_hidden_reasoning_is_an_error_answer_that_says_so():
    """OpenAI's reasoning models show no reasoning, but count its tokens; spent, they leave content empty."""
    completion = ChatCompletion.model_validate({
        "id": "x", "object": "chat.completion", "created": 0, "model": "o4-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 40, "total_tokens": 49,
                  "completion_tokens_details": {"reasoning_tokens": 40}},
    })  # fmt: skip
    answer = answer_of(completion)
    assert answer.text is None
    assert answer.error == ("no answer after the reasoning: content empty, 40 reasoning tokens "
                            "(finish_reason=length: raise reasoning_tokens)")  # fmt: skip


def test_an_empty_answer_without_reasoning_is_still_an_empty_answer():
    with ScriptedServer(answer=lambda q: "") as server:
        answer = ask(api_model(server.url))
    assert answer.text == "" and answer.error is None


def test_extra_headers_are_sent_and_a_secret_one_comes_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("UNSAFE_VLM_TEST_GATEWAY", "s3cret")
    headers = {"extra_headers": {"X-Team": "safety"}, "extra_headers_env": {"X-Gateway-Key": "UNSAFE_VLM_TEST_GATEWAY"}}
    with ScriptedServer() as server:
        ask(api_model(server.url, **headers))
    received = {name.lower(): value for name, value in server.headers[0].items()}
    assert received["x-team"] == "safety" and received["x-gateway-key"] == "s3cret"


def test_a_header_variable_that_is_not_set_is_one_line_naming_the_key(monkeypatch):
    monkeypatch.delenv("UNSAFE_VLM_UNSET_HEADER", raising=False)
    with pytest.raises(UserError, match=r"^model\.extra_headers_env\.X-Key: the environment variable "
                                        r"UNSAFE_VLM_UNSET_HEADER is not set"):  # fmt: skip
        api_model("http://127.0.0.1:9/v1", extra_headers_env={"X-Key": "UNSAFE_VLM_UNSET_HEADER"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"extra_headers": {"Authorization": "Bearer sk-1"}}, "model.extra_headers: must not hold 'Authorization': a "
      "secret goes in extra_headers_env"),
     ({"extra_headers_env": {"X-Key": "sk-live-1234"}}, "model.extra_headers_env: 'X-Key' must name the environment "
      "variable that holds its value"),
     ({"max_tokens_key": "max_output_tokens"}, "model.max_tokens_key: 'max_output_tokens' is not one of"),
     ({"omit_keys": ["messages"]}, "model.omit_keys[0]: 'messages' is not one of")],
)  # fmt: skip
def test_bad_endpoint_settings_are_one_line_naming_the_key_and_never_echo_a_secret(changes, message):
    with pytest.raises(SettingsError) as raised:
        api_model("http://127.0.0.1:9/v1", **changes)
    text = str(raised.value)
    assert text.startswith(message) and "\n" not in text and "sk-" not in text


def saved_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((run_dir / "responses").glob("*.jsonl")) for line in path.open()]


def test_an_evaluation_of_a_reasoning_endpoint_judges_its_answers_and_writes_no_header_secret(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(answer=lambda q: "<think>Maybe safe.</think>No, it is unsafe.",
                        reasoning=lambda q: "The image shows a weapon.") as server:  # fmt: skip
        done = run_cli(
            "evaluate", "model=api", f"model.base_url={server.url}", "model.max_retries=0", "data=synthetic",
            f"data.cache_dir={data_cache}", "data.limit_per_task=2", "data.tasks=[alignment_image]",
            "model.max_tokens_key=max_completion_tokens", "model.reasoning_tokens=64",
            "model.extra_headers_env={X-Gateway-Key: UNSAFE_VLM_TEST_GATEWAY}", f"hydra.run.dir={run_dir}",
            env={"UNSAFE_VLM_TEST_GATEWAY": "s3cret-value"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = saved_rows(run_dir)
    assert [row["judged"] for row in rows] == ["Unsafe", "Unsafe"]
    assert all(body["max_completion_tokens"] > 64 for body in server.requests)
    assert [{k.lower(): v for k, v in h.items()}.get("x-gateway-key") for h in server.headers] == ["s3cret-value"] * 2
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert written and not [p for p in written if b"s3cret-value" in p.read_bytes()]
    assert "s3cret-value" not in done.stdout + done.stderr
