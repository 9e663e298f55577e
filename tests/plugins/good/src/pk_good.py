"""A well-behaved plugin: registers with config fields, mixes sync and async hooks."""

import asyncio

from pluginkit import ABI_VERSION, hookimpl
from pluginkit import types as t

PLUGINKIT_ABI = ABI_VERSION


@hookimpl
def plugin_register(params):
    return t.Registration(
        schema_version=1,
        metadata=t.PluginMetadata(
            name="good",
            version="1.0.0",
            author="pluginkit tests",
            github_repository="https://github.com/example/pk-good",
            config_fields=[
                t.ConfigField(name="suffix", type="string", description="appended by request.normalize"),
                t.ConfigField(name="mode", type="enum", enum_values=["fast", "slow"]),
            ],
        ),
        capabilities=t.Capabilities(
            request_normalizer=True,
            request_translator=True,
            executor=True,
            executor_input_formats=["openai"],
            executor_output_formats=["openai"],
        ),
    )


@hookimpl
def request_normalize(params, ctx):
    return t.BodyResult(body=params.body + ctx.config.get("suffix", "|good").encode())


@hookimpl
async def request_translate(params):
    await asyncio.sleep(0)
    return t.BodyResult(body=b"translated:" + params.body)


@hookimpl
def executor_identifier():
    return t.Identifier(identifier="Local")


@hookimpl
async def executor_execute(params, ctx):
    ctx.log.info("executing with api_key=sk-abcdefghijklmnop", fields={"token": "x"})
    return t.ExecutorResponse(payload=b"echo:" + params.payload)
