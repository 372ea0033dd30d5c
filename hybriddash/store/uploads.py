"""Import an upload and register its corpus in the store: what the CLI and the UI call.

:func:`hybriddash.data.upload.import_upload` validates and writes the upload but knows
nothing of the store (data sits below it); this wrapper hands it the store's
registration, so the corpus row and its texts are stored before the upload is moved
into place, and a failing store leaves no upload behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hybriddash.data.corpus import Corpus
from hybriddash.data.upload import ImportResult
from hybriddash.data.upload import import_upload as _import_files
from hybriddash.data.upload.validation import Source
from hybriddash.store import writes
from hybriddash.store.db import Store


def import_upload(
    sources: Sequence[Source],
    name: str | None,
    *,
    store: Store | None = None,
    **options: Any,
) -> ImportResult:
    """Validate, store as ``upload:<name>`` and register the corpus in ``store``.

    ``options``: ``fmt``, ``max_bytes``, ``overwrite`` of
    :func:`hybriddash.data.upload.import_upload`. ``store``: default the configured one.
    """

    def register(corpus: Corpus) -> bool:
        # looked up at call time so a test can replace writes.register_corpus
        return writes.register_corpus(store, corpus)

    return _import_files(sources, name, register=register, **options)
