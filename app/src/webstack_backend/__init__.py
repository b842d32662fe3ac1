"""webstack-backend: the cache-aside JSON API of the webstack project."""

__version__ = "0.1.0"
