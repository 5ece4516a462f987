"""Config values that must each be refused in one line naming their key, before data or weights.

``(command, overrides, the error line's start)``; shared by the check-order tests and the catalogue.
"""

DEVICES = "0 must be a count of at least 1, -1 (every device), 'auto' or a list of device ids"
DTYPE = "'float17' is not a torch dtype; use float32, bfloat16, float16 or auto"

BAD_SETTINGS = [
    ("fit", ["+method=ppo", "method.lr=abc"], "method.lr: 'abc' is not a number"),
    ("fit", ["+method=sft", "method.lr=abc"], "method.lr: 'abc' is not a number"),
    ("fit", ["+method=dpo", "method.beta=0"], "method.beta: 0 must be > 0"),
    ("fit", ["+method=ppo", "method.max_new_tokens=0"], "method.max_new_tokens: 0 must be at least 1"),
    ("fit", ["+method=ppo", "method.temperature=0"], "method.temperature: 0 must be > 0"),
    ("fit", ["+method=ppo", "method.whiten_advantages=maybe"],
     "method.whiten_advantages: 'maybe' is not a boolean (true or false)"),
    ("fit", ["+method=ppo", "method.value_adapter=both"],
     "method.value_adapter: 'both' is not one of: 'separate', 'shared', 'frozen'"),
    ("fit", ["+method=ppo", "+method.clip_ration=0.1"], "method.clip_ration: unknown key; did you mean 'clip_ratio'?"),
    ("fit", ["+method=grpo", "method.group_size=1"], "method.group_size: 1 must be at least 2"),
    ("fit", ["+method=sft", "trainer.limit_train_batches=0"],
     "trainer.limit_train_batches: 0 must be null (every batch), a count of at least 1 or a share in (0, 1]; "
     "0 would train nothing"),
    ("fit", ["+method=grpo", "method.kl_penalty=both"], "method.kl_penalty: 'both' is not one of: 'loss', 'reward'"),
    ("fit", ["+method=grpo", "method.baseline=median"], "method.baseline: 'median' is not one of: 'mean', 'rloo'"),
    ("fit", ["+method=ppo", "method.kl_estimator=k2"],
     "method.kl_estimator: 'k2' is not one of: 'k1', 'k1_clamped', 'k3'"),
    ("fit", ["+method=ppo", "method.score_position=end"],
     "method.score_position: 'end' is not one of: 'last_token', 'last_padded'"),
    ("fit", ["+method=ppo", "method.length_bonus=-1"], "method.length_bonus: -1 must be at least 0"),
    ("fit", ["+method=ppo", "method.length_bonus_per=word"],
     "method.length_bonus_per: 'word' is not one of: 'token', 'max_new_tokens'"),
    ("fit", ["+method=grpo", "method.unfinished_penalty=-8"], "method.unfinished_penalty: -8 must be at least 0"),
    ("fit", ["+method=ppo", "method.mask_open_ended=true"],
     "method.mask_open_ended: true, but no training record has an open-ended prompt to mask"),
    ("fit", ["+method=grpo", "method.mask_open_ended=true"],
     "method.mask_open_ended: true, but no training record has an open-ended prompt to mask"),
    ("fit", ["+method=ppo", "data.train_open_ended=true"],
     "method.mask_open_ended: false, but data.train_open_ended=true adds open-ended prompts"),
    ("fit", ["+method=sft", "data.train_open_ended=true"],
     "data.train_open_ended: open-ended prompts have no templated answer for sft to learn"),
    ("fit", ["+method=grpo", "method.score_position=last_padded"], "unknown key 'method.score_position'"),
    ("evaluate", ["generation.do_sample=maybe"], "generation.do_sample: 'maybe' is not a boolean (true or false)"),
    ("evaluate", ["max_error_share=1.5"], "max_error_share: 1.5 must be at most 1"),
    ("fit", ["+method=sft", "max_error_share=-0.1"], "max_error_share: -0.1 must be at least 0"),
    ("fit", ["+method=sft", "generation.do_sample=maybe"],
     "generation.do_sample: 'maybe' is not a boolean (true or false)"),
    ("evaluate", ["generation.max_new_tokens=0"], "generation.max_new_tokens: 0 must be at least 1"),
    ("evaluate", ["generation.do_sample=true", "generation.temperature=0"],
     "generation.temperature: 0 must be > 0 when do_sample is true"),
    ("evaluate", ["trainer.devices=0"], f"trainer.devices: {DEVICES}"),
    ("fit", ["+method=ppo", "trainer.devices=0"], f"trainer.devices: {DEVICES}"),
    ("fit", ["+method=ppo", "trainer.num_nodes=0"], "trainer.num_nodes: 0 must be at least 1"),
    ("fit", ["+method=ppo", "trainer.max_epochs=abc"], "trainer.max_epochs: 'abc' is not an integer"),
    ("fit", ["+method=ppo", "trainer.max_steps=0"], "trainer.max_steps: 0 must be -1 (no limit) or at least 1"),
    ("evaluate", ["model=tiny", "model.dtype=float17"], f"model.dtype: {DTYPE}"),
    ("fit", ["+method=sft", "model=tiny", "model.dtype=float17"], f"model.dtype: {DTYPE}"),
    ("evaluate", ["model.dtype=float17"], f"model.dtype: {DTYPE}"),  # the organism: a checkpoint
]  # fmt: skip


BAD_DATA = [
    ("evaluate", ["data.limit_per_task=abc"], "data.limit_per_task: 'abc' is not an integer"),
    ("evaluate", ["data.limit_per_task=-1"], "data.limit_per_task: -1 must be at least 1"),
    ("evaluate", ["data.eval_batch_size=0"], "data.eval_batch_size: 0 must be at least 1"),
    ("fit", ["+method=ppo", "data.eval_batch_size=-1"], "data.eval_batch_size: -1 must be at least 1"),
    ("fit", ["+method=sft", "data.train_ratio=1.5"], "data.train_ratio: 1.5 must be < 1"),
    ("evaluate", ["data.num_workers=-1"], "data.num_workers: -1 must be at least 0"),
    ("fit", ["+method=ppo", "data.holdout_concepts=[NotAConcept]"],
     "data.holdout_concepts: 'NotAConcept' is neither an unsafe concept of the benchmark nor one of its safe concepts"),
    ("evaluate", ["data.eval_split=train"], "data.eval_split: 'train' is not one of: 'all', 'test'"),
    ("evaluate", ["data.tasks=[]"], "data.tasks: [] is empty: name at least one task to evaluate"),
    ("evaluate", ["data.tasks=[perception,vibes]"], "data.tasks: unknown task 'vibes'; choose one of: perception, "),
    ("fit", ["+method=ppo", "data.train_open_ended=true", "method.mask_open_ended=true", "prompts.open_ended=[]"],
     "data.train_open_ended: true, but prompts.open_ended lists no prompt"),
    ("evaluate", ["data.verify_images=maybe"], "data.verify_images: 'maybe' is not a boolean (true or false)"),
    ("evaluate", ["data.synthetic.image_size=4"], "data.synthetic: need image_size >= 8"),
    ("evaluate", ["data=mme", "data.path=x.tsv", "data.name=a/b"], "data.name: 'a/b' must be a plain name"),
    ("evaluate", ["data=image_safety", "data.path=x.tsv", "data.format=csv"],
     "data.format: 'csv' is not one of: 'folder', 'tsv'"),
]  # fmt: skip
