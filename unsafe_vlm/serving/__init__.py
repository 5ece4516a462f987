"""An OpenAI-compatible chat-completions server over any backbone (``python -m unsafe_vlm serve``)."""
