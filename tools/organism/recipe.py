"""Every setting of the organism's training, in one place (the model card quotes them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    seed: int = 0  # model initialisation, curriculum draws, batch order
    # sizes of the LLaVA architecture (tiny_architectures/llava.py's ``Sizes`` without architecture and seed)
    sizes: dict = field(
        default_factory=lambda: {
            "vocab_size": 1024,
            "hidden_size": 128,
            "num_layers": 4,
            "num_heads": 4,
            "vision_hidden_size": 64,
            "vision_layers": 3,
            "vision_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        }
    )
    steps: int = 2400  # optimizer steps
    batch_size: int = 64  # examples per step
    lr: float = 2e-3  # peak learning rate (AdamW), linear warm-up then cosine to zero
    warmup_steps: int = 200
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    # how often each kind of example appears in one pass of the curriculum (see ``curriculum``)
    perception_repeats: int = 1  # four-option question per train image
    category_repeats: int = 1  # "what kind of content does the image show?" per train image
    capability_repeats: int = 1  # a concept question and a shape question per train image
    text_safety_repeats: int = 1  # every concept x every text question
    context_repeats: int = 2  # both contextual questions of every unsafe concept, in text
    image_safety_repeats: int = 2  # one image-safety question per train image
    unsafe_image_correct: float = 0.45  # chance that an unsafe image's safety answer is the correct one
    category_question: str = "What kind of content does the image show?"
    category_answer: str = "{category} content."
    safe_category: str = "Ordinary"  # the category answer for safe images
