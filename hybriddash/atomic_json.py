"""Replace a JSON file atomically: readers see the old file or the new one, never half.

Used for the small state files a killed process must not leave torn: a bundle's
manifest, a study piece's progress ledger, an encode-mode tuning record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomically(
    path: Path, data: Any, *, indent: int = 1, sort_keys: bool = False
) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same folder
    (unique to this process, so two writers never share one) and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(
            json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n", encoding="utf-8"
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
