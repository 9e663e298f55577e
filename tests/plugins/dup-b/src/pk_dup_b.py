"""One of two distributions claiming plugin ID 'dup'."""

from pluginkit import hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = 1


@hookimpl
def response_normalize_after(params):
    return t.BodyResult(body=params.body + b"|dup-b")
