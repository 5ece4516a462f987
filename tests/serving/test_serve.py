"""The server answers as the backbone does in-process: the real openai client against a real server."""

from __future__ import annotations

import threading

import openai
import pytest
import torch
from helpers.serving import GREEDY, data_url, running_server
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR


@pytest.fixture(scope="module")
def backbone():
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")))


@pytest.fixture(scope="module")
def server(backbone):
    with running_server(backbone) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=30)


def picture(seed: int) -> Image.Image:
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (32, 32, 3), generator=generator, dtype=torch.uint8)
    return Image.fromarray(pixels.numpy(), "RGB")


def in_process(backbone, question: str, image: Image.Image | None):
    return backbone.generate(backbone.encode([question], [image]), **GREEDY.to_dict())


def ask(client, content, **options):
    return client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": content}], temperature=0, max_tokens=12, **options
    )


def test_a_text_only_question_gets_the_in_process_greedy_answer_with_its_usage(backbone, client):
    reply = ask(client, "Is a kitchen knife safe?")
    expected = in_process(backbone, "Is a kitchen knife safe?", None)
    assert reply.choices[0].message.content == expected.texts[0]
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason == ("stop" if expected.finished[0] else "length")
    prompt_tokens = int(backbone.encode(["Is a kitchen knife safe?"], [None])["attention_mask"].sum())
    assert reply.usage.prompt_tokens == prompt_tokens
    assert reply.usage.completion_tokens == int(expected.lengths[0])
    assert reply.usage.total_tokens == prompt_tokens + int(expected.lengths[0])
    assert reply.model == "tiny" and reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")


def test_an_image_part_is_shown_with_the_question_as_in_process(backbone, client):
    image = picture(1)
    content = [
        {"type": "text", "text": "What is in the image?"},
        {"type": "image_url", "image_url": {"url": data_url(image)}},
    ]
    reply = ask(client, content)
    assert reply.choices[0].message.content == in_process(backbone, "What is in the image?", image).texts[0]
    assert reply.choices[0].message.content != ask(client, "What is in the image?").choices[0].message.content


def test_max_tokens_and_finish_reason_follow_the_generation(backbone, client):
    reply = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Name a fruit."}], temperature=0, max_completion_tokens=3
    )
    expected = backbone.generate(backbone.encode(["Name a fruit."], [None]), max_new_tokens=3)
    assert reply.choices[0].message.content == expected.texts[0]
    assert reply.usage.completion_tokens == int(expected.lengths[0]) <= 3
    assert reply.choices[0].finish_reason == ("stop" if expected.finished[0] else "length")


def test_models_lists_the_one_served_model(client):
    assert [model.id for model in client.models.list().data] == ["tiny"]
    assert client.models.retrieve("tiny").id == "tiny"


def test_a_sampled_request_with_a_seed_is_reproducible(client):
    def sample():
        return client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "Say something."}], temperature=1.0, top_p=0.9,
            max_tokens=12, seed=7,
        ).choices[0].message.content  # fmt: skip

    assert sample() == sample()


def test_concurrent_requests_share_a_batch_and_each_gets_its_own_answer(backbone):
    questions = [f"Is thing number {i} {'very ' * i}safe?" for i in range(8)]
    with running_server(backbone, batch_wait_ms=500) as server:
        client = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=30)
        answers: dict[int, str] = {}
        start = threading.Barrier(len(questions))

        def worker(index: int) -> None:
            start.wait()
            answers[index] = ask(client, questions[index]).choices[0].message.content

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(questions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        sizes = list(server.app.state.batcher.batch_sizes)
    assert sum(sizes) == len(questions) and len(sizes) < len(questions), sizes
    assert [answers[i] for i in range(len(questions))] == [in_process(backbone, q, None).texts[0] for q in questions]
