"""pluginkit's benchmarks: ``python -m benchmarks [NAME ...] [--quick]`` (see ``benchmarks/__main__.py``)."""
