"""etslink: a model of linked carbon emissions trading systems."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("etslink")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
