"""Alignment methods as LightningModules: SFT, DPO, PPO and GRPO over one shared base."""
