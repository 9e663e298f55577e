"""Native plugins: shared libraries speaking the seed host's C ABI (CLIProxyAPI). In progress (issue 18): the
library layer (:mod:`pluginkit.native._library`) loads and calls one; the manager does not load them yet."""
