"""One module per CLI command; each takes the composed Hydra config."""
