"""Errors a user can act on. Each message names the problem and the fix."""


class UnclipError(Exception):
    """Base of every error the `unclip` command reports as one line (exit code 2)."""


class ConfigError(UnclipError):
    """A YAML graph or override that does not validate."""


class PluginError(UnclipError):
    """A plugin that cannot be loaded, or two plugins that claim one name."""


class WeightsError(UnclipError):
    """A weight file that is missing, corrupt, or does not fit its component."""


class InputError(UnclipError):
    """A user input (image, mask, prompt) that cannot be used as given."""


class NumericalError(UnclipError):
    """Values that came out NaN or infinite (a sample, a weight): never written as a result."""
