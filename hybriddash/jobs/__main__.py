"""``python -m hybriddash.jobs worker`` (the job worker) or ``child <job id>`` (one job)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"] and len(argv) == 1:
        from hybriddash.jobs.worker import main as worker_main

        return worker_main()
    if argv[:1] == ["child"]:
        from hybriddash.jobs.child import main as child_main

        return child_main(argv[1:])
    print("usage: python -m hybriddash.jobs worker | child <job id>", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
