"""The first provider named ``twin``: it answers ``twin-a``."""

from pluginkit import ABI_VERSION, hookimpl
from pluginkit import types as t
from pluginkit.providers import ServiceResponse


class Twin:
    PLUGINKIT_ABI = ABI_VERSION

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(capabilities=t.Capabilities(ai_provider=True))

    @hookimpl
    def provider_invoke_service(self) -> ServiceResponse:
        return ServiceResponse(response=b"twin-a")


PLUGIN = Twin()
