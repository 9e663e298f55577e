"""Two example executors in one distribution, each its own plugin:

* ``local-executor`` (:mod:`pluginkit_executors.local`): provider ``local``, speaks Anthropic Messages
  (``claude``) and answers deterministically without any network — a demo and test backend;
* ``openai-http`` (:mod:`pluginkit_executors.openai_http`): relays OpenAI Chat Completions (``openai``) to any
  OpenAI-compatible server through the host's HTTP client.

They share how a stream reaches the host (:mod:`pluginkit_executors.streaming`) and, from the
``openai-anthropic`` distribution, SSE framing and the Anthropic response builders.
"""
