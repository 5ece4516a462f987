"""Alignment methods as LightningModules: SFT, DPO and PPO over one shared base."""
