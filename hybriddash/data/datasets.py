"""The dataset registry: one source of truth for dataset ids.

Ids:

- ``xquad-r``, ``mlqa-r``: LAReQA benchmarks (sentence candidates), read from
  ``<data dir>/xquad-r`` and ``<data dir>/mlqa-r`` (:func:`hybriddash.config.data_dir`,
  env ``HYBRIDDASH_DATA`` or CLI ``--data-dir``);
- ``mlqa-train``: MLQA test files as question -> paragraph training pairs;
- ``tico-19``, ``xnli``, ``tatoeba``, ``tydiqa-goldp``: the evaluation suites of issue 23
  (:mod:`hybriddash.data.tico19`, :mod:`~hybriddash.data.xnli`,
  :mod:`~hybriddash.data.tatoeba`, :mod:`~hybriddash.data.tydiqa`);
- ``sample``: the built-in sample corpus (always available);
- ``upload:<name>``: a corpus imported by the user, stored in the parallel-table
  format at ``<artifacts>/uploads/<name>/corpus.jsonl``, or, when it cannot be
  written as a parallel table, as ``corpus.json`` (the upload importer's full
  format, read by :func:`hybriddash.data.corpus_json.read_corpus_json`).

:func:`load_dataset` keeps the last few full corpora in an in-process LRU cache
(keyed by id, data folder and file modification times, so a re-imported upload or a
changed data folder is re-read); subsets are cut from the cached full corpus.

Selectors: an id may carry a subset in brackets, the same form :attr:`Corpus.name`
writes, so every stored corpus name loads again: ``xquad-r[en,de;articles=4]``,
``tico-19[domain=pubmed]``, ``tico-19[langs=en,fr,sw]``, ``xnli[split=test]``,
``tatoeba[langs=af,de]`` (Tatoeba: the pairs of those languages, English sides
included), ``tatoeba[lines=300]`` (at most 300 lines per pair, a fixed sample). :data:`DEFAULT_SUBSETS` names the subset the study evaluates per suite.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hybriddash import config
from hybriddash.data.corpus import Corpus

UPLOAD_PREFIX = "upload:"
UPLOAD_FILE = "corpus.jsonl"  # parallel table (JSON Lines)
UPLOAD_FULL_FILE = "corpus.json"  # the upload importer's full format


@dataclass(frozen=True)
class _Builtin:
    id: str
    title: str
    kind: str  # "benchmark" | "sample" | "train"
    folder: str | None  # sub-folder of the data dir, None for the packaged sample
    languages: tuple[str, ...]
    n_queries: int | None  # documented totals; None when only known after loading
    n_candidates: int | None
    license: str
    note: str
    source: str = ""
    pattern: str = "*.json"  # files whose presence makes the dataset available
    documented: str = ""  # the shared README's own counts, for `data list`


# Documented sizes (../shared/data/README.md, LAReQA paper Table 1); the loaders'
# tests check that loading gives exactly these numbers.
XQUAD_R_COUNTS: dict[str, tuple[int, int]] = {
    "ar": (1190, 1222),
    "de": (1190, 1276),
    "el": (1190, 1234),
    "en": (1190, 1180),
    "es": (1190, 1215),
    "hi": (1190, 1244),
    "ru": (1190, 1219),
    "th": (1190, 852),
    "tr": (1190, 1167),
    "vi": (1190, 1209),
    "zh": (1190, 1196),
}
MLQA_R_COUNTS: dict[str, tuple[int, int]] = {
    "ar": (517, 2545),
    "de": (512, 2362),
    "en": (1148, 6264),
    "es": (500, 1787),
    "hi": (507, 2426),
    "vi": (511, 2828),
    "zh": (504, 2322),
}
# measured from the pinned files (tests/test_squad_pairs.py checks them): 9,677
# question ids -> 22,724 (id, question language) queries; 14,580 distinct paragraphs
MLQA_TRAIN_SIZE: tuple[int, int] = (22724, 14580)


def _tatoeba_languages() -> tuple[str, ...]:
    from hybriddash.data.tatoeba import LANGUAGES

    return LANGUAGES


# The suites of issue 23 (shared README; loaders' slow tests check them on the files):
# TICO-19: 38 variants x 3,071 segments, every segment both query and candidate;
# XNLI dev: 830 premises / 2,490 hypotheses per language x 15; Tatoeba: 88,877 pairs,
# both sides queries and candidates; TyDi QA GoldP: 5,077 questions, 4,488 paragraphs.
TICO19_SIZE: tuple[int, int] = (38 * 3071, 38 * 3071)
# ... less the segments of documents misaligned upstream at d97615f, which the loader leaves
# out (hybriddash.data.tico19.misaligned_documents): so 1,744 (its Wikipedia, Wikivoyage
# and Wikisource documents but one), fr 359 (PubMed_8, Wikinews_1, Wikinews_3)
TICO19_MISALIGNED: dict[str, int] = {"so": 1744, "fr": 359}
TICO19_CHECKED_SIZE: tuple[int, int] = (
    TICO19_SIZE[0] - sum(TICO19_MISALIGNED.values()),
    TICO19_SIZE[1] - sum(TICO19_MISALIGNED.values()),
)
XNLI_SIZE: tuple[int, int] = (15 * 830, 15 * 2490)
TATOEBA_SIZE: tuple[int, int] = (2 * 88877, 2 * 88877)
TYDIQA_SIZE: tuple[int, int] = (5077, 4488)
TICO19_LANGS: tuple[str, ...] = (
    "ar", "bn", "ckb", "din", "en", "es", "fa", "fr", "fuv", "ha", "hi", "id", "km", "kr",
    "ku", "lg", "ln", "mr", "ms", "my", "ne", "nus", "om", "prs", "ps", "pt", "ru", "rw",
    "so", "sw", "ta", "ti", "ti-ER", "ti-ET", "tl", "ur", "zh", "zu",
)  # fmt: skip

# canonical codes of the 112 pairs (hybriddash.data.tatoeba.CODES) and English
TATOEBA_LANGS: tuple[str, ...] = tuple(sorted({*_tatoeba_languages(), "en"}))

#: The subset of each suite that the study evaluates (and docs/benchmarks.md times).
#: TICO-19: 12 of 38 variants, English-anchored, from high-resource (en fr ru zh ar hi)
#: through mid (bn id sw) to low-resource (ha so zu) in CC-100 terms
#: (:mod:`hybriddash.data.resources`): 34,749 segments (36,852 less the misaligned
#: documents of so and fr) instead of 114,595.
DEFAULT_SUBSETS: dict[str, str] = {
    "tico-19": "tico-19[ar,bn,en,fr,ha,hi,id,ru,so,sw,zh,zu]",
    "xnli": "xnli",
    "tatoeba": "tatoeba",
    "tydiqa-goldp": "tydiqa-goldp",
}

BUILTINS: dict[str, _Builtin] = {
    "xquad-r": _Builtin(
        "xquad-r",
        "XQuAD-R (LAReQA)",
        "benchmark",
        "xquad-r",
        tuple(XQUAD_R_COUNTS),
        sum(q for q, _ in XQUAD_R_COUNTS.values()),
        sum(c for _, c in XQUAD_R_COUNTS.values()),
        "CC BY-SA 4.0",
        "11-way parallel: 48 articles, 1,190 questions per language, 11 relevant sentences "
        "per query in the pooled setting",
        "google-research-datasets/lareqa @ 9bc8c7f, xquad-r/",
    ),
    "mlqa-r": _Builtin(
        "mlqa-r",
        "MLQA-R (LAReQA)",
        "benchmark",
        "mlqa-r",
        tuple(MLQA_R_COUNTS),
        sum(q for q, _ in MLQA_R_COUNTS.values()),
        sum(c for _, c in MLQA_R_COUNTS.values()),
        "CC BY-NC 4.0 (non-commercial; attribution: Lewis et al. 2020, MLQA; Roy et al. 2020, LAReQA)",
        "MLQA dev with sentence breaks: 1,148 question ids, each in 2 to 4 languages",
        "google-research-datasets/lareqa @ 343180b, mlqa-dev-r/",
    ),
    "mlqa-train": _Builtin(
        "mlqa-train",
        "MLQA test files as question -> paragraph pairs (training)",
        "train",
        "mlqa-train",
        ("ar", "de", "es", "hi", "vi", "zh"),
        MLQA_TRAIN_SIZE[0],
        MLQA_TRAIN_SIZE[1],
        "CC BY-SA 3.0",
        "answers are empty in this copy: question -> paragraph pairs only; disjoint from "
        "xquad-r and mlqa-r",
        "wuhjie/few_shots_that_matters_wu @ 6bfe6324, data/mlqa/MLQA_V1/test/",
    ),
    "tico-19": _Builtin(
        "tico-19",
        "TICO-19 translation retrieval (COVID-19 domain, 38 variants)",
        "benchmark",
        "tico-19",
        TICO19_LANGS,
        *TICO19_CHECKED_SIZE,
        "CC0 1.0",
        "fully parallel: 3,071 segment ids in every variant; each segment is a query, its 37 "
        "translations are relevant, its own text is excluded from the pool; domains "
        "(tico-19[domain=...]): pubmed 939, wikipedia 1,538, wikivoyage 243, cmu 141, "
        "wikisource 122, wikinews 88; study default: "
        "tico-19[ar,bn,en,fr,ha,hi,id,ru,so,sw,zh,zu]; documents whose translation is of "
        "another English segment upstream are left out (so 1,744 segments, fr 359; "
        "tico-19[misaligned=keep] keeps them)",
        "tico-19/tico-19.github.io @ d97615f, data/TM/all.en-*.tmx.zip",
        "all.en-*.tmx.zip",
        "3,071 segment ids x 38 language variants (English + 37); less 2,103 misaligned "
        "(so 1,744, fr 359)",
    ),
    "xnli": _Builtin(
        "xnli",
        "XNLI premise -> entailment hypothesis (15 languages)",
        "benchmark",
        "xnli",
        ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"),
        *XNLI_SIZE,
        "CC BY-NC 4.0 (non-commercial; attribution: Conneau et al. 2018, XNLI)",
        "dev: 830 premises x 15 languages; candidates all 2,490 hypotheses per language "
        "(neutral and contradiction are distractors); 15 relevant per query; "
        "xnli[split=test]: bitext alignment of the 1,670 aligned test premises",
        "GautamGupta17/MESH @ 68f82e2, data/xnli/",
        "dev-*.tsv",
        "15 languages; dev 2,490 rows = 830 premises x 3 hypotheses; test 5,010 rows",
    ),
    "tatoeba": _Builtin(
        "tatoeba",
        "Tatoeba bitext retrieval (112 languages <-> English)",
        "benchmark",
        "tatoeba",
        TATOEBA_LANGS,
        *TATOEBA_SIZE,
        "CC BY 2.0 FR (Tatoeba; LASER code BSD)",
        "112 language pairs with English, 88,877 line-aligned pairs (1,000 for 72 languages); "
        "X -> en and en -> X searched within each pair's own sentences (XTREME/MTEB); "
        "tatoeba[langs=af,de] keeps pairs",
        "facebookresearch/LASER @ 74bc6ae, data/tatoeba/v1/",
        "tatoeba.*-eng.eng",
        "112 languages paired with English; 88,877 pairs (1,000 for 72 languages)",
    ),
    "tydiqa-goldp": _Builtin(
        "tydiqa-goldp",
        "TyDi QA GoldP question -> gold paragraph (9 languages)",
        "benchmark",
        "tydiqa-goldp",
        ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te"),
        *TYDIQA_SIZE,
        "Apache-2.0",
        "TyDi QA GoldP v1.1 dev: 5,077 questions, one gold paragraph each (answers empty in "
        "this copy); monolingual pool per language (X -> X) and the pooled 9-language "
        "setting (X -> all)",
        "GautamGupta17/MESH @ 68f82e2, data/tydiqa/tydiqa-goldp-v1.1-dev/",
        "tydiqa.goldp.*.dev.json",
        "9 languages; 5,077 questions, one gold paragraph each",
    ),
    "sample": _Builtin(
        "sample",
        "Built-in sample (42 QA groups x 6 languages)",
        "sample",
        None,
        ("ar", "de", "en", "es", "ru", "zh"),
        None,
        None,
        "Apache-2.0 (written for hybriddash)",
        "general-knowledge questions with answer and distractor sentences; always available",
        "hybriddash/data/sample/sample_corpus.jsonl",
    ),
}

#: Dataset ids in display order (uploads are listed after these).
DATASET_IDS: tuple[str, ...] = tuple(BUILTINS)


class DatasetNotAvailableError(FileNotFoundError):
    """A known dataset whose files are not where hybriddash looked."""


@dataclass
class DatasetInfo:
    """What ``data list`` and the dashboard show about one dataset.

    ``n_queries`` / ``n_candidates`` are totals over all languages (None when not
    known without loading); ``path`` is the folder or file read (None when not found).
    """

    id: str
    title: str
    kind: str  # "benchmark" | "sample" | "train" | "upload"
    available: bool
    path: str | None
    languages: list[str]
    n_queries: int | None
    n_candidates: int | None
    license: str
    note: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # per language, when known
    source: str = ""  # upstream repository @ commit, path
    documented: str = ""  # the counts the data's README gives (suites of issue 23)


# ---- locations ------------------------------------------------------------------


def dataset_folder(dataset_id: str) -> Path | None:
    """The folder a benchmark/train dataset is read from (None without a data dir)."""
    spec = BUILTINS.get(dataset_id)
    if spec is None or spec.folder is None:
        return None
    base = config.data_dir()
    return None if base is None else base / spec.folder


def upload_path(name: str) -> Path:
    """``<artifacts>/uploads/<name>/corpus.jsonl`` (not checked for existence)."""
    _check_upload_name(name)
    return config.uploads_dir() / name / UPLOAD_FILE


def _upload_files(name: str) -> list[Path]:
    """The stored corpus file(s) of an upload that exist (full format first)."""
    folder = upload_path(name).parent
    return [p for p in (folder / UPLOAD_FULL_FILE, folder / UPLOAD_FILE) if p.is_file()]


def _check_upload_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(
            f"invalid upload name {name!r}: expected a plain folder name (no '/', not hidden)"
        )


def _is_available(dataset_id: str) -> bool:
    if dataset_id == "sample":
        return True
    folder = dataset_folder(dataset_id)
    pattern = BUILTINS[dataset_id].pattern
    return folder is not None and folder.is_dir() and any(folder.glob(pattern))


def _missing_message(dataset_id: str) -> str:
    base = config.data_dir()
    where = (
        f"no data folder is configured (HYBRIDDASH_DATA unset and {config.REPO_ROOT.parent / 'shared' / 'data'} "
        "does not exist)"
        if base is None
        else f"searched {base / BUILTINS[dataset_id].folder} (from HYBRIDDASH_DATA / --data-dir or the default)"
    )
    return (
        f"dataset {dataset_id!r} is not available: {where}. Run `python -m hybriddash data "
        f"download {dataset_id}` or point HYBRIDDASH_DATA (or --data-dir) at a folder holding "
        f"{BUILTINS[dataset_id].folder}/"
    )


# ---- listing --------------------------------------------------------------------


def list_uploads() -> list[str]:
    """Names of uploaded corpora (folders under ``<artifacts>/uploads`` with a corpus file)."""
    root = config.uploads_dir()
    names = {
        p.parent.name
        for pattern in (f"*/{UPLOAD_FILE}", f"*/{UPLOAD_FULL_FILE}")
        for p in root.glob(pattern)
        if not p.parent.name.startswith(".")
    }
    return sorted(names)


def list_datasets(with_counts: bool = False) -> list[DatasetInfo]:
    """Every known dataset with its availability.

    Benchmarks report their documented sizes without loading; with
    ``with_counts=True`` every available dataset is loaded (cached) and ``counts``
    holds exact per-language numbers. The sample and uploads are small and are always
    loaded to count them.
    """
    infos: list[DatasetInfo] = []
    for dataset_id, spec in BUILTINS.items():
        available = _is_available(dataset_id)
        folder = dataset_folder(dataset_id)
        if dataset_id == "sample":
            from hybriddash.data.sample import sample_path

            path: str | None = sample_path()
        else:
            path = str(folder) if available and folder is not None else None
        info = DatasetInfo(
            dataset_id,
            spec.title,
            spec.kind,
            available,
            path,
            list(spec.languages),
            spec.n_queries,
            spec.n_candidates,
            spec.license,
            spec.note,
            source=spec.source,
            documented=spec.documented,
        )
        if available and (with_counts or spec.kind == "sample"):
            _fill_counts(info, load_dataset(dataset_id))
        infos.append(info)
    for name in list_uploads():
        dataset_id = UPLOAD_PREFIX + name
        info = DatasetInfo(
            dataset_id,
            f"Upload {name}",
            "upload",
            True,
            str((_upload_files(name) or [upload_path(name)])[0]),
            [],
            None,
            None,
            "as declared by the uploader",
            "",
        )
        try:
            _fill_counts(info, load_dataset(dataset_id))
        except ValueError as exc:  # a broken upload is listed, not fatal
            info.available = False
            info.note = f"cannot be loaded: {exc}"
        infos.append(info)
    return infos


def _fill_counts(info: DatasetInfo, corpus: Corpus) -> None:
    info.counts = corpus.counts()
    info.languages = corpus.languages
    info.n_queries = len(corpus.queries)
    info.n_candidates = len(corpus.candidates)
    if corpus.notes and not info.note:
        info.note = "; ".join(corpus.notes)


# ---- loading --------------------------------------------------------------------

_CACHE_SIZE = 4
_cache: OrderedDict[tuple, Corpus] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(dataset_id: str) -> tuple:
    """Id + the files' (path, mtime, size), so edits on disk invalidate the cache."""
    if dataset_id.startswith(UPLOAD_PREFIX):
        files = _upload_files(dataset_id[len(UPLOAD_PREFIX) :])
    else:
        folder = dataset_folder(dataset_id)
        pattern = BUILTINS[dataset_id].pattern if dataset_id in BUILTINS else "*.json"
        files = sorted(folder.glob(pattern)) if folder is not None and folder.is_dir() else []
    stamp = []
    for f in files:
        st = os.stat(f)
        stamp.append((str(f), st.st_mtime_ns, st.st_size))
    return (dataset_id, tuple(stamp))


def _load_full(dataset_id: str, split: str | None = None, keep_misaligned: bool = False) -> Corpus:
    if dataset_id == "sample":
        from hybriddash.data.sample import load_sample

        return load_sample()
    if dataset_id.startswith(UPLOAD_PREFIX):
        return load_upload(dataset_id[len(UPLOAD_PREFIX) :])
    if dataset_id not in BUILTINS:
        known = ", ".join([*DATASET_IDS, UPLOAD_PREFIX + "<name>"])
        raise ValueError(f"unknown dataset {dataset_id!r}: expected one of {known}")
    if not _is_available(dataset_id):
        raise DatasetNotAvailableError(_missing_message(dataset_id))
    folder = dataset_folder(dataset_id)
    assert folder is not None
    if dataset_id in ("xquad-r", "mlqa-r"):
        from hybriddash.data.lareqa import load_lareqa

        return load_lareqa(folder, dataset_id)
    if dataset_id == "tico-19":
        from hybriddash.data.tico19 import load_tico19

        corpus = load_tico19(folder, dataset_id, keep_misaligned=keep_misaligned)
        if keep_misaligned:  # named apart: its runs are not the checked corpus's
            corpus = corpus.restrict(lambda c: True, lambda q: True, {"misaligned": "keep"})
        return corpus
    if dataset_id == "xnli":
        from hybriddash.data.xnli import load_xnli_dev, load_xnli_test

        return load_xnli_test(folder) if split == "test" else load_xnli_dev(folder)
    if dataset_id == "tatoeba":
        from hybriddash.data.tatoeba import load_tatoeba

        return load_tatoeba(folder, dataset_id)
    if dataset_id == "tydiqa-goldp":
        from hybriddash.data.tydiqa import load_tydiqa

        return load_tydiqa(folder, dataset_id)
    from hybriddash.data.squad_pairs import load_squad_pairs

    return load_squad_pairs(folder, dataset_id)


def load_upload(name: str) -> Corpus:
    """Read an uploaded corpus: ``corpus.json`` (full format) if present, else ``corpus.jsonl``.

    ``corpus.jsonl`` is parallel-table JSON Lines, turned into a corpus by
    :func:`hybriddash.data.parallel_table.corpus_from_parallel_rows`.
    """
    from hybriddash.data.parallel_table import corpus_from_parallel_rows
    from hybriddash.data.sample import read_jsonl_rows

    files = _upload_files(name)
    if not files:
        available = ", ".join(list_uploads()) or "none"
        raise DatasetNotAvailableError(
            f"no uploaded corpus {name!r}: {upload_path(name)} does not exist (uploads: {available})"
        )
    path = files[0]
    if path.name == UPLOAD_FULL_FILE:
        from hybriddash.data.corpus_json import read_corpus_json

        return read_corpus_json(path, UPLOAD_PREFIX + name)
    numbers, rows = read_jsonl_rows(path.read_text(encoding="utf-8"), str(path))
    return corpus_from_parallel_rows(rows, UPLOAD_PREFIX + name, str(path), row_numbers=numbers)


def load_dataset(
    dataset_id: str,
    langs: Sequence[str] | None = None,
    articles: int | None = None,
) -> Corpus:
    """Load a dataset by id, optionally restricted to ``langs`` and the first ``articles``.

    ``dataset_id`` may carry a selector (:func:`parse_dataset_ref`); explicit ``langs``
    and ``articles`` override the selector's. ``langs`` may use any spelling :func:`hybriddash.languages.normalize_language`
    accepts. Raises ``ValueError`` for an unknown id or language and
    :class:`DatasetNotAvailableError` (a ``FileNotFoundError``) naming the folder
    searched when a benchmark's files are missing. The full corpus is shared through
    the cache: treat it as read-only (subsets are new objects).
    """
    ref = parse_dataset_ref(dataset_id)
    dataset_id = ref.dataset_id
    langs = langs if langs is not None else ref.langs
    articles = articles if articles is not None else ref.articles
    split = ref.options.get("split")
    if split is not None and (dataset_id != "xnli" or split not in ("dev", "test")):
        raise ValueError(f"{ref.text}: split= is known for xnli only (dev or test), got {split!r}")
    domain = ref.options.get("domain")
    if domain is not None and dataset_id != "tico-19":
        raise ValueError(f"{ref.text}: domain= is known for tico-19 only")
    lines = ref.options.get("lines")
    if lines is not None and dataset_id != "tatoeba":
        raise ValueError(f"{ref.text}: lines= is known for tatoeba only")
    if lines is not None and (not lines.isdigit() or int(lines) < 1):
        raise ValueError(f"{ref.text}: lines= expects a positive integer, got {lines!r}")
    misaligned = ref.options.get("misaligned")
    if misaligned is not None and (dataset_id != "tico-19" or misaligned != "keep"):
        raise ValueError(
            f"{ref.text}: misaligned= is known for tico-19 only, with the value keep "
            f"(keep the documents the number check leaves out), got {misaligned!r}"
        )
    keep_misaligned = misaligned == "keep"
    split = None if split == "dev" else split
    key = (*_cache_key(dataset_id), split, keep_misaligned)
    with _cache_lock:
        corpus = _cache.get(key)
        if corpus is not None:
            _cache.move_to_end(key)
    if corpus is None:
        corpus = _load_full(dataset_id, split, keep_misaligned)
        with _cache_lock:
            _cache[key] = corpus
            _cache.move_to_end(key)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    known_langs = corpus.languages
    if domain is not None:
        from hybriddash.data.tico19 import restrict_domain

        corpus = restrict_domain(corpus, domain)
    if lines is not None:
        from hybriddash.data.tatoeba import sample_lines

        corpus = sample_lines(corpus, int(lines))
    if langs is None and articles is None:
        return corpus
    if langs is not None:
        from hybriddash.languages import normalize_language

        langs = [normalize_language(lang) for lang in langs]
    if dataset_id == "tatoeba" and langs is not None:
        # a Tatoeba language selects its pair (the article), English side included
        unknown = sorted(set(langs) - {c.article for c in corpus.candidates})
        if unknown:
            raise ValueError(f"tatoeba: no pair for language(s) {unknown}")
        keep = set(langs)
        corpus = corpus.restrict(
            lambda c: c.article in keep, lambda q: q.article in keep, {"langs": sorted(keep)}
        )
        langs = None
        if articles is None:
            return corpus
    if dataset_id == "tico-19" and langs is not None and articles is None:
        # a language known to the corpus may have no segment in one domain (so's
        # Wikivoyage: all misaligned upstream): keep the rest, under the name asked for
        unknown = sorted(set(langs) - set(known_langs))
        if unknown:
            raise ValueError(f"tico-19: language(s) {unknown} not in this corpus ({known_langs})")
        keep = set(langs)
        return corpus.restrict(
            lambda c: c.lang in keep, lambda q: q.lang in keep, {"langs": sorted(keep)}
        )
    return corpus.subset_by(langs=langs, articles=articles)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset id with its selector, parsed by :func:`parse_dataset_ref`."""

    text: str
    dataset_id: str
    langs: list[str] | None = None
    articles: int | None = None
    options: dict[str, str] = field(default_factory=dict)  # domain=, split=


_SELECTOR_KEYS = ("langs", "articles", "domain", "split", "lines", "misaligned")


def parse_dataset_ref(text: str) -> DatasetRef:
    """``ID`` or ``ID[part;part...]`` -> :class:`DatasetRef`.

    A part is ``langs=a,b`` (or a bare ``a,b``, as :attr:`Corpus.name` writes it),
    ``articles=N``, ``domain=NAME`` (tico-19), ``misaligned=keep`` (tico-19: keep the
    documents :func:`hybriddash.data.tico19.misaligned_documents` leaves out),
    ``split=dev|test`` (xnli) or ``lines=N`` (tatoeba: at most N lines per language
    pair); parts are
    separated by ``;``. Upload ids (``upload:<name>``) never carry a selector. Raises
    ValueError naming the part at fault.
    """
    text = text.strip()
    if text.startswith(UPLOAD_PREFIX) or "[" not in text:
        return DatasetRef(text, text)
    if not text.endswith("]") or text.count("[") != 1:
        raise ValueError(f"dataset {text!r}: expected ID or ID[key=value;...]")
    dataset_id, body = text[:-1].split("[", 1)
    langs: list[str] | None = None
    articles: int | None = None
    options: dict[str, str] = {}
    for part in (p.strip() for p in body.split(";")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            key, value = "langs", part
        key, value = key.strip(), value.strip()
        if key not in _SELECTOR_KEYS:
            raise ValueError(
                f"dataset {text!r}: unknown selector {key!r}; expected one of "
                f"{', '.join(_SELECTOR_KEYS)}"
            )
        if key == "langs":
            langs = [x.strip() for x in value.split(",") if x.strip()]
        elif key == "articles":
            if not value.isdigit():
                raise ValueError(f"dataset {text!r}: articles= expects a positive integer")
            articles = int(value)
        else:
            options[key] = value
    return DatasetRef(text, dataset_id.strip(), langs, articles, options)


def clear_cache() -> None:
    """Forget every cached corpus (tests; after changing HYBRIDDASH_DATA in-process)."""
    with _cache_lock:
        _cache.clear()
