"""Bad requests get their status and a clear message in the OpenAI error shape, and the server goes on serving."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import openai
import pytest
from helpers.serving import data_url, running_server
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.errors import UserError
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.serving.settings import ServeSettings

GOOD = {"model": "tiny", "messages": [{"role": "user", "content": "Is fire safe?"}], "temperature": 0, "max_tokens": 4}
IMAGE = data_url(Image.new("RGB", (32, 32), (10, 200, 30)))


@pytest.fixture(scope="module")
def backbone():
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")))


@pytest.fixture(scope="module")
def server(backbone):
    with running_server(backbone) as running:
        yield running


def send(url: str, body: bytes | dict | None, *, method: str = "POST", key: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def with_content(*parts) -> dict:
    return GOOD | {"messages": [{"role": "user", "content": list(parts)}]}


TEXT = {"type": "text", "text": "What is it?"}
SYSTEM = {"role": "system", "content": "Be brief."}
URL = "messages[0].content[1].image_url.url"


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


NOT_AN_IMAGE = "data:image/png;base64," + base64.b64encode(b"no png").decode()
BAD_REQUESTS = {
    "malformed JSON": (b'{"model": "tiny", messages', 400, None, "not valid JSON"),
    "no body": (b"", 400, None, "needs a JSON body"),
    "a list, not an object": (b"[1, 2]", 400, None, "must be a JSON object"),
    "no messages": ({"model": "tiny"}, 400, "messages", "messages: Field required"),
    "a wrong type": (GOOD | {"max_tokens": "4"}, 400, "max_tokens", "valid integer"),
    "a temperature out of range": (GOOD | {"temperature": -1}, 400, "temperature", "greater than or equal to 0"),
    "two system turns": (GOOD | {"messages": [SYSTEM, SYSTEM, GOOD["messages"][0]]}, 400, "messages",
                         "roles ['system', 'system', 'user']"),
    "a system turn after the user's": (GOOD | {"messages": [GOOD["messages"][0], SYSTEM]}, 400, "messages",
                                       "after at most one system message"),
    "an image in the system turn": (GOOD | {"messages": [{"role": "system", "content": [image_part(IMAGE)]},
                                                         GOOD["messages"][0]]},
                                    400, "messages[0].content[0]", "text parts only"),
    "a seed torch cannot take": (GOOD | {"seed": 2**64, "temperature": 1}, 400, "seed", "less than or equal to"),
    "a negative seed torch cannot take": (GOOD | {"seed": -(2**63) - 1}, 400, "seed", "greater than or equal to"),
    "a seed that is not a number": (GOOD | {"seed": "7"}, 400, "seed", "valid integer"),
    "stream_options without streaming": (GOOD | {"stream_options": {"include_usage": True}}, 400,
                                         "stream_options", "only allowed with stream=true"),
    "an assistant turn": (GOOD | {"messages": [{"role": "assistant", "content": "Hi"}]}, 400, "messages",
                          "roles ['assistant']"),
    "an audio part": (with_content(TEXT, {"type": "input_audio", "input_audio": {}}), 400,
                      "messages[0].content[1].type", "unsupported content part type 'input_audio'"),
    "a network image": (with_content(TEXT, image_part("https://x.org/a.png")), 400, URL, "only data: URLs"),
    "an image that does not decode": (with_content(TEXT, image_part(NOT_AN_IMAGE)), 400, URL,
                                      "6 bytes do not decode as an image"),
    "an image that is not base64": (with_content(TEXT, image_part("data:image/png;base64,%%")), 400, URL,
                                    "not valid base64"),
    "two images": (with_content(TEXT, image_part(IMAGE), image_part(IMAGE)), 400, "messages[0].content",
                   "at most one image per request; got 2"),
    "n of 2": (GOOD | {"n": 2}, 400, "n", "exactly one choice"),
    "stop sequences": (GOOD | {"stop": ["."]}, 400, "stop", "stop is not supported"),
    "max_tokens over the cap": (GOOD | {"max_tokens": 513}, 400, "max_tokens", "cap of 512 tokens (serve.max_tokens)"),
    "an unknown model": (GOOD | {"model": "gpt-4o"}, 404, "model",
                         "'gpt-4o' does not exist here; this server serves 'tiny'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_a_bad_request_gets_its_status_and_message_and_the_server_goes_on(server, case):
    body, status, param, message = BAD_REQUESTS[case]
    got_status, got = send(f"{server.url}/chat/completions", body)
    assert got_status == status, got
    assert set(got) == {"error"} and set(got["error"]) == {"message", "type", "param", "code"}
    assert message in got["error"]["message"]
    assert got["error"]["param"] == param
    assert got["error"]["type"] == "invalid_request_error"
    assert got["error"]["code"] == ("model_not_found" if status == 404 else None)
    assert send(f"{server.url}/chat/completions", GOOD)[0] == 200


def test_a_prompt_too_long_for_the_context_says_the_token_counts(backbone, server):
    question = " ".join(["knife"] * 1100)
    prompt_tokens = int(backbone.encode([question], [None])["attention_mask"].sum())
    status, got = send(f"{server.url}/chat/completions", GOOD | {"messages": [{"role": "user", "content": question}]})
    assert status == 400 and got["error"]["code"] == "context_length_exceeded", got
    counts = f"context is 1024 tokens, but the request needs {prompt_tokens + 4}: {prompt_tokens} in the prompt"
    assert counts in got["error"]["message"]
    assert send(f"{server.url}/chat/completions", GOOD)[0] == 200


def test_an_unknown_path_is_a_404_in_the_same_shape(server):
    status, got = send(f"{server.url}/completions", GOOD)
    assert status == 404 and "POST /v1/chat/completions" in got["error"]["message"]


def test_a_failure_inside_generate_is_a_500_and_the_next_request_is_answered(backbone, server, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory, say")

    monkeypatch.setattr(backbone, "generate", broken)
    status, got = send(f"{server.url}/chat/completions", GOOD)
    assert status == 500 and got["error"]["type"] == "server_error", got
    assert got["error"]["message"] == "generation failed: RuntimeError: out of memory, say"
    monkeypatch.undo()
    assert send(f"{server.url}/chat/completions", GOOD)[0] == 200


def test_with_a_key_set_a_missing_or_wrong_key_is_a_401_and_the_right_one_is_answered(backbone):
    with running_server(backbone, api_key="sesame") as server:
        for key, problem in ((None, "no API key was given"), ("open", "the API key is wrong")):
            for url, body in ((f"{server.url}/chat/completions", GOOD), (f"{server.url}/models", None)):
                status, got = send(url, body, method="POST" if body else "GET", key=key)
                assert status == 401 and got["error"]["code"] == "invalid_api_key", got
                assert got["error"]["message"].startswith(problem)
        client = openai.OpenAI(base_url=server.url, api_key="sesame", max_retries=0, timeout=30)
        reply = client.chat.completions.create(**GOOD)
        assert reply.choices[0].finish_reason in ("stop", "length")
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.url, api_key="open", max_retries=0).models.list()


def test_a_key_variable_that_is_not_set_refuses_with_one_line_naming_it(monkeypatch):
    monkeypatch.delenv("UNSAFE_VLM_TEST_KEY", raising=False)
    from helpers.serving import SERVE_DEFAULTS

    settings = ServeSettings.from_config(SERVE_DEFAULTS | {"api_key_env": "UNSAFE_VLM_TEST_KEY"}, "serve")
    with pytest.raises(UserError, match=r"^serve.api_key_env=UNSAFE_VLM_TEST_KEY: the environment variable "
                                        r"UNSAFE_VLM_TEST_KEY is not set or empty") as refused:  # fmt: skip
        settings.read_api_key()
    assert "\n" not in str(refused.value)
    monkeypatch.setenv("UNSAFE_VLM_TEST_KEY", "k")
    assert settings.read_api_key() == "k"
