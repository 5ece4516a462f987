"""Models behind an OpenAI-compatible chat-completions API (``model=api``, ``model=gpt4o``, ...)."""
