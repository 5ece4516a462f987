"""Errors that are the user's to fix: the CLI prints them as one line, without a stack trace."""


class UserError(Exception):
    """Bad input, config or files; the message names the file, field or key at fault."""


class ConfigValueError(UserError, ValueError):
    """A config value that cannot work (an unknown family, dtype, reward, ...)."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder a config points at does not exist or lacks what it must hold."""
