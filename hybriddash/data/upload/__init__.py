"""User corpora: formats, validation before storage, atomic import (issue 6).

Entry points:

- :func:`validate_upload` — read and check files, collect every problem;
- :func:`import_upload` — validate, then store as dataset ``upload:<name>``;
- :mod:`~hybriddash.data.upload.writers` — write a corpus in each upload format.
"""

from hybriddash.data.corpus_json import read_corpus_json, write_corpus_json
from hybriddash.data.upload.importer import ImportResult, delete_upload, import_upload
from hybriddash.data.upload.problems import Problem, UploadRejected
from hybriddash.data.upload.sources import UploadFile, max_upload_bytes
from hybriddash.data.upload.validation import ValidatedUpload, validate_upload

__all__ = [
    "ImportResult",
    "Problem",
    "UploadFile",
    "UploadRejected",
    "ValidatedUpload",
    "delete_upload",
    "import_upload",
    "max_upload_bytes",
    "read_corpus_json",
    "validate_upload",
    "write_corpus_json",
]
