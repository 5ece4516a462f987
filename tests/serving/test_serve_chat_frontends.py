"""What chat front-ends send: streamed answers, a system message, large images and odd seeds."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import openai
import pytest
from helpers.serving import data_url, running_server
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

QUESTION = {"role": "user", "content": "Is fire safe?"}
SYSTEM = {"role": "system", "content": "Answer in one word."}


def backbone_of(name: str):
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")))


@pytest.fixture(scope="module")
def qwen():
    """A tiny model whose chat template shows a system turn (ChatML)."""
    return backbone_of("tiny_qwen2_vl")


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=30)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_streamed_answer_joins_to_the_answer_given_in_one_response(qwen):
    image = data_url(Image.new("RGB", (40, 40), (200, 20, 20)))
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}},
                                           {"type": "text", "text": "What is it?"}]}  # fmt: skip
    with running_server(qwen, model_name="tiny_qwen2_vl") as server:
        whole = client(server.url).chat.completions.create(
            model="tiny_qwen2_vl", messages=[message], temperature=0, max_tokens=10
        )
        stream = client(server.url).chat.completions.create(
            model="tiny_qwen2_vl", messages=[message], temperature=0, max_tokens=10, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        chunks = list(stream)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == whole.choices[0].message.content
    assert whole.choices[0].message.content  # a real answer, not an empty one on both sides
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == {
        "prompt_tokens": whole.usage.prompt_tokens,
        "completion_tokens": whole.usage.completion_tokens,
        "total_tokens": whole.usage.total_tokens,
        "completion_tokens_details": None,
        "prompt_tokens_details": None,
    }
    assert len({c.id for c in chunks}) == 1


def test_a_streamed_request_without_usage_ends_with_its_finish_and_done(qwen):
    with running_server(qwen, model_name="tiny_qwen2_vl") as server:
        request = urllib.request.Request(
            f"{server.url}/chat/completions",
            json.dumps({"model": "tiny_qwen2_vl", "messages": [QUESTION], "max_tokens": 3, "stream": True}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            kind = response.headers["content-type"]
            events = response.read().decode().split("\n\n")
    assert kind.startswith("text/event-stream")
    assert events[-2:] == ["data: [DONE]", ""]
    last = json.loads(events[-3].removeprefix("data: "))
    assert last["choices"][0]["finish_reason"] == "length" and "usage" not in last


def test_a_system_message_reaches_the_prompt_and_changes_what_is_generated(qwen):
    with running_server(qwen, model_name="tiny_qwen2_vl") as server:
        status, with_system = post(server.url, {"model": "tiny_qwen2_vl", "messages": [SYSTEM, QUESTION],
                                                "temperature": 0, "max_tokens": 8})  # fmt: skip
        assert status == 200, with_system
        _, without = post(server.url, {"model": "tiny_qwen2_vl", "messages": [QUESTION], "temperature": 0,
                                       "max_tokens": 8})  # fmt: skip
    expected = qwen.encode(["Is fire safe?"], [None], systems=["Answer in one word."])
    assert with_system["usage"]["prompt_tokens"] == int(expected["attention_mask"].sum())
    alone = int(qwen.encode(["Is fire safe?"], [None])["attention_mask"].sum())  # the template's default system turn
    assert without["usage"]["prompt_tokens"] == alone != with_system["usage"]["prompt_tokens"]
    answer = qwen.generate(expected, max_new_tokens=8, do_sample=False).texts[0]
    assert with_system["choices"][0]["message"]["content"] == answer


def test_a_system_message_to_a_template_without_a_system_turn_is_refused_not_dropped():
    tiny = backbone_of("tiny")  # LLaVA-1.5's template has no system turn
    with running_server(tiny) as server:
        status, got = post(server.url, {"model": "tiny", "messages": [SYSTEM, QUESTION], "max_tokens": 4})
    assert status == 400 and got["error"]["code"] == "system_message_unsupported", got
    assert got["error"]["message"].startswith("the chat template of 'tiny' has no system turn")
    assert got["error"]["param"] == "messages[0]"


@pytest.mark.parametrize(
    "size, mode, limit, reason",
    [
        ((120, 100), "RGB", 11_999, "120x100 = 12000 pixels, above this server's limit of 11999"),
        ((14_000, 14_000), "1", 25_000_000, "too large: Image size (196000000 pixels) exceeds limit"),
    ],
    ids=["above serve.max_image_pixels", "a decompression bomb"],
)
def test_an_image_above_the_pixel_limit_is_a_400_and_the_server_goes_on(qwen, size, mode, limit, reason):
    url = data_url(Image.new(mode, size))
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
    body = {"model": "tiny_qwen2_vl", "messages": [message], "max_tokens": 2}
    with running_server(qwen, model_name="tiny_qwen2_vl", max_image_pixels=limit) as server:
        status, got = post(server.url, body)
        assert status == 400 and got["error"]["code"] == "image_too_large", got
        assert reason in got["error"]["message"]
        assert got["error"]["param"] == "messages[0].content[0].image_url.url"
        small = data_url(Image.new("RGB", (20, 20)))
        assert post(server.url, body | {"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": small}}]}]})[0] == 200  # fmt: skip


@pytest.mark.parametrize("seed", [-(2**63), 2**64 - 1, 0])
def test_any_seed_torch_takes_is_answered_and_repeats(qwen, seed):
    body = {"model": "tiny_qwen2_vl", "messages": [QUESTION], "temperature": 1.0, "max_tokens": 6, "seed": seed}
    with running_server(qwen, model_name="tiny_qwen2_vl") as server:
        first, second = post(server.url, body), post(server.url, body)
    assert first[0] == 200, first
    assert first[1]["choices"][0]["message"]["content"] == second[1]["choices"][0]["message"]["content"]
