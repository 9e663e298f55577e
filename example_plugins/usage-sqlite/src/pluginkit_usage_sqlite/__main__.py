"""``python -m pluginkit_usage_sqlite [--path P]``: print the per-model usage summary of a database."""

from __future__ import annotations

import argparse
import sys

from pluginkit_usage_sqlite import default_path, format_summary, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pluginkit_usage_sqlite", description="Per-model summary of the usage-sqlite database."
    )
    parser.add_argument("--path", default=str(default_path()), help="database file (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        rows = summary(args.path)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(format_summary(rows) if rows else f"no usage recorded in {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
