"""Helpers for plugins that read and write model APIs' bodies: JSON objects in and out, stable ids, and the
shapes of Anthropic's Messages API (``pluginkit.formats.anthropic``).

>>> from pluginkit.formats import dump, load_object
>>> load_object(dump({"model": "m", "stream": True}), "the request")
{'model': 'm', 'stream': True}
"""

from pluginkit.formats import anthropic
from pluginkit.formats._json import JSONObject, as_object, dump, error_message, load_object, stable_id

__all__ = ["JSONObject", "anthropic", "as_object", "dump", "error_message", "load_object", "stable_id"]
