"""PPO math as small pure functions: rewards, advantages, losses. The PPO module only orchestrates."""
