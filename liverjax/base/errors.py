"""The errors that ``launch.py`` and the commands report as one line (exit code 2), no traceback.

Every refusal of the software is a :class:`LiverjaxError`: bad input data, a setting that cannot
work, a workdir that holds another run, a GAN whose loss diverged. Anything else is a bug.
"""


class LiverjaxError(Exception):
  """An error whose one-line message tells the user what to change."""


class ConfigError(LiverjaxError, ValueError):
  """A setting that cannot work; the message names the config key and what would."""


class DataError(LiverjaxError, ValueError):
  """Malformed input data; the message names the file and the problem on one line."""


class WorkdirError(LiverjaxError, RuntimeError):
  """The workdir holds something incompatible with this run."""


class GANDivergedError(LiverjaxError, RuntimeError):
  """A GAN's loss became NaN or inf."""
