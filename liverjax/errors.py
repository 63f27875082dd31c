"""Errors that launch.py reports as one line (exit code 2) instead of a traceback."""


class ConfigError(ValueError):
  """A setting that cannot work; the message names the config key and what would."""
