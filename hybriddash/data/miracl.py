"""``data download miracl --langs ...``: MIRACL topics, qrels and passages -> a BEIR folder.

MIRACL (Zhang et al. 2023, "MIRACL: A Multilingual Retrieval Dataset Covering 18 Diverse
Languages", TACL; Apache-2.0) publishes its topics and judgements in the Hugging Face
dataset ``miracl/miracl`` and its passages (Wikipedia, one JSONL shard after another) in
``miracl/miracl-corpus``; hybriddash fetches them over plain HTTPS:

- ``miracl-v1.0-<lang>/topics/topics.miracl-v1.0-<lang>-<split>.tsv``: ``qid<TAB>query``;
- ``miracl-v1.0-<lang>/qrels/qrels.miracl-v1.0-<lang>-<split>.tsv``:
  ``qid Q0 docid relevance`` (TREC);
- ``miracl-corpus-v1.0-<lang>/docs-<n>.jsonl.gz``, ``n = 0, 1, ...`` until the first
  missing shard: ``{"docid", "title", "text"}``.

Written into the BEIR layout the upload importer reads (:mod:`hybriddash.data.upload`):
``<dest>/miracl/corpus.jsonl`` (``_id``, ``text``, ``lang``, ``title``),
``queries.jsonl`` (``_id``, ``text``, ``lang``; ids ``<lang>:<qid>``) and
``qrels/<split>.tsv``. Only the *judged* passages are kept (every docid in the qrels,
relevant or not): the full corpora hold tens of millions of passages (English 32.9 M),
far beyond what a 2-core machine encodes; the judged pool keeps MIRACL's hard negatives.
Then ``python -m hybriddash import <dest>/miracl --name miracl`` makes it a dataset.

The files live on a hub revision that moves, so no sha256 can be pinned ahead: the
sha256 of every fetched file is written to ``SOURCE.json``, and the folder appears
atomically (a hidden staging folder renamed into place). Without network the error says
so and names the alternative: upload MIRACL (or any corpus) as a BEIR folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
import urllib.error
from collections.abc import Callable, Sequence
from pathlib import Path

from hybriddash.data.download import (
    DEFAULT_TIMEOUT_S,
    DownloadError,
    Fetcher,
    default_destination,
    swap_in,
    urllib_fetch,
)

HUB = "https://huggingface.co/datasets"
LANGUAGES: tuple[str, ...] = (
    "ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw",
    "te", "th", "yo", "zh",
)  # fmt: skip
MAX_SHARDS = 1000  # a guard against a fetcher that never reports a missing shard


class MiraclFormatError(DownloadError):
    """A fetched MIRACL file that does not parse; the message names the file and line."""


def topics_url(lang: str, split: str) -> str:
    return f"{HUB}/miracl/miracl/resolve/main/miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-{split}.tsv"


def qrels_url(lang: str, split: str) -> str:
    return f"{HUB}/miracl/miracl/resolve/main/miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-{split}.tsv"


def shard_url(lang: str, n: int) -> str:
    return f"{HUB}/miracl/miracl-corpus/resolve/main/miracl-corpus-v1.0-{lang}/docs-{n}.jsonl.gz"


def parse_topics(text: str, source: str) -> dict[str, str]:
    """``{qid: query}`` of a topics TSV; MiraclFormatError names the bad line."""
    out: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise MiraclFormatError(f"{source}, line {i}: expected 'qid<TAB>query'")
        out[parts[0].strip()] = parts[1].strip()
    return out


def parse_qrels(text: str, source: str) -> list[tuple[str, str, int]]:
    """``(qid, docid, relevance)`` of a TREC qrels file; MiraclFormatError names the line."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            raise MiraclFormatError(f"{source}, line {i}: expected 'qid Q0 docid relevance'")
        out.append((parts[0], parts[2], int(parts[3])))
    return out


def download_miracl(
    langs: Sequence[str],
    dest: Path | None = None,
    *,
    split: str = "dev",
    fetch: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Fetch MIRACL for ``langs`` into ``dest/miracl`` (BEIR layout; module docstring).

    Raises ValueError for a language MIRACL lacks, :class:`DownloadError` when a file
    cannot be fetched (the message names the BEIR-upload alternative) and
    :class:`MiraclFormatError` for a file that does not parse.
    """
    unknown = sorted(set(langs) - set(LANGUAGES))
    if unknown or not langs:
        raise ValueError(
            f"MIRACL languages {unknown or '(none given)'}: expected some of {', '.join(LANGUAGES)}"
        )
    fetch = fetch or urllib_fetch
    say = log or (lambda _msg: None)
    dest = Path(dest) if dest is not None else default_destination()
    target = dest / "miracl"
    hashes: dict[str, str] = {}

    def get(url: str, *, missing_ok: bool = False) -> bytes | None:
        say(url)
        try:
            payload = fetch(url, timeout)
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return None
            raise DownloadError(_unreachable(url, exc)) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DownloadError(_unreachable(url, exc)) from exc
        hashes[url] = hashlib.sha256(payload).hexdigest()
        return payload

    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".miracl.partial-", dir=dest))
    try:
        (staging / "qrels").mkdir()
        with (
            (staging / "corpus.jsonl").open("w", encoding="utf-8") as corpus_out,
            (staging / "queries.jsonl").open("w", encoding="utf-8") as queries_out,
            (staging / "qrels" / f"{split}.tsv").open("w", encoding="utf-8") as qrels_out,
        ):
            qrels_out.write("query-id\tcorpus-id\tscore\n")
            for lang in langs:
                url = topics_url(lang, split)
                topics = parse_topics((get(url) or b"").decode("utf-8"), url)
                url = qrels_url(lang, split)
                judged = parse_qrels((get(url) or b"").decode("utf-8"), url)
                wanted = {docid for _q, docid, _r in judged}
                found = 0
                for n in range(MAX_SHARDS):
                    url = shard_url(lang, n)
                    payload = get(url, missing_ok=True)
                    if payload is None:
                        break
                    for i, line in enumerate(
                        gzip.decompress(payload).decode("utf-8").splitlines(), 1
                    ):
                        if not line.strip():
                            continue
                        try:
                            rec = json.loads(line)
                            docid, text = rec["docid"], rec["text"]
                        except (ValueError, KeyError, TypeError) as exc:
                            raise MiraclFormatError(f"{url}, line {i}: {exc}") from None
                        if docid in wanted:
                            found += 1
                            out = {"_id": docid, "text": text, "lang": lang}
                            if rec.get("title"):
                                out["title"] = rec["title"]
                            corpus_out.write(json.dumps(out, ensure_ascii=False) + "\n")
                for qid, query in topics.items():
                    queries_out.write(
                        json.dumps(
                            {"_id": f"{lang}:{qid}", "text": query, "lang": lang},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                for qid, docid, rel in judged:
                    if qid in topics:
                        qrels_out.write(f"{lang}:{qid}\t{docid}\t{rel}\n")
                say(
                    f"{lang}: {len(topics)} topics, {len(judged)} judgements, {found} of {len(wanted)} judged passages"
                )
        (staging / "SOURCE.json").write_text(
            json.dumps(
                {
                    "dataset": "MIRACL (Zhang et al. 2023), Apache-2.0",
                    "home": f"{HUB}/miracl/miracl and {HUB}/miracl/miracl-corpus",
                    "languages": list(langs),
                    "split": split,
                    "passages": "judged only (every docid of the qrels)",
                    "sha256": hashes,
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        swap_in(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _unreachable(url: str, exc: BaseException) -> str:
    return (
        f"cannot fetch {url} ({exc}): MIRACL's passages live only on the Hugging Face hub, "
        "which this machine cannot reach. Alternative: on a machine with internet, run "
        "`python -m hybriddash data download miracl --langs ...` there, or export MIRACL "
        "(or any corpus) in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/*.tsv, each "
        "record with a 'lang') and upload it: `python -m hybriddash import FOLDER --name miracl` "
        "or the Upload page."
    )
