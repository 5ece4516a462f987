"""Errors that are the user's to fix: the CLI prints them as one line, without a stack trace."""


class UserError(Exception):
    """Bad input, config or files; the message names the file, field or key at fault."""
