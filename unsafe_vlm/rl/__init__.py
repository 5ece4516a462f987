"""RL and preference math as small pure functions: rewards, advantages, the PPO and DPO losses.
The method modules only orchestrate."""
