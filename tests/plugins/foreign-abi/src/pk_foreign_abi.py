"""A plugin written for an ABI this host does not speak."""

from pluginkit import hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = "2.1"


@hookimpl
def request_normalize(params):
    return t.BodyResult(body=b"never called")
