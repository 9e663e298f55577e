"""A plugin whose async hooks never finish."""

import asyncio

from pluginkit import hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = 1


@hookimpl
def auth_identifier():
    return t.Identifier(identifier="slowauth")


@hookimpl
async def auth_login_start(params):
    await asyncio.Event().wait()


@hookimpl
async def response_normalize_before(params):
    await asyncio.Event().wait()
