"""Our Tatoeba X -> en accuracy of the base model against MTEB's published numbers.

Published: MTEB results for intfloat/multilingual-e5-small (float32 weights), revision
e4ce9877abf3edfe10b0d82785e83bdcb973e22e, ``Tatoeba.json`` (mteb 1.12.75), field
``accuracy`` of each ``<xxx>-eng`` subset: the share of ``<xxx>`` sentences whose
nearest English sentence (cosine) is their translation, i.e. our X -> en bitext
accuracy on the same LASER test sets. Source: github.com/embeddings-benchmark/results,
``results/intfloat__multilingual-e5-small/e4ce9877.../Tatoeba.json`` (the first 53
subsets of the file, in its order).

Ours: the 4-bit (Q4_0) dequantised multilingual-e5-small of this project, ONNX float32,
``query: `` prefix on both sides (as MTEB runs e5 for bitext mining), the run stored by
``bench/suites_reference.py``. Usage::

    HYBRIDDASH_ARTIFACTS=/work/art-suites python bench/tatoeba_vs_mteb.py
"""

from __future__ import annotations

import numpy as np

from hybriddash.languages import normalize_language
from hybriddash.store import reads

PUBLISHED_ACCURACY: dict[str, float] = {
    "dan": 0.891, "aze": 0.844, "tur": 0.909, "ces": 0.847, "swh": 0.7153846153846154,
    "hrv": 0.873, "est": 0.616, "bel": 0.843, "mhr": 0.072, "cat": 0.826, "ben": 0.855,
    "tgl": 0.813, "cym": 0.6747826086956522, "tha": 0.9306569343065694, "swe": 0.9,
    "oci": 0.434, "gsw": 0.46153846153846156, "ceb": 0.47, "ind": 0.904, "ron": 0.886,
    "gla": 0.4209891435464415, "ile": 0.759, "orv": 0.18083832335329342, "vie": 0.913,
    "slv": 0.7812879708383961, "tel": 0.8974358974358975, "cmn": 0.921,
    "fao": 0.6145038167938931, "glg": 0.831, "tuk": 0.21182266009852216, "war": 0.433,
    "ita": 0.908, "epo": 0.911, "fra": 0.924, "pol": 0.909, "khm": 0.5096952908587258,
    "fin": 0.749, "zsm": 0.932, "bre": 0.088, "kur": 0.4585365853658537,
    "yid": 0.7051886792452831, "kaz": 0.76, "cbk": 0.602, "mkd": 0.692,
    "hsb": 0.41200828157349895, "deu": 0.979, "isl": 0.683, "kzj": 0.088, "lat": 0.438,
    "rus": 0.921, "ber": 0.223, "nld": 0.937, "lit": 0.643,
}  # fmt: skip


def main() -> int:
    runs = reads.list_runs("tatoeba")
    runs = runs[runs["model_id"] == "multilingual-e5-small-q4"]
    if runs.empty:
        raise SystemExit("no base-model tatoeba run in the store: run bench/suites_reference.py")
    bitext = reads.bitext_accuracy(runs["run_id"].iloc[0])
    ours = bitext[bitext["cand_lang"] == "en"].set_index("query_lang")["accuracy"]
    rows = []
    for code, published in PUBLISHED_ACCURACY.items():
        lang = normalize_language(code)
        rows.append((code, published, float(ours[lang])))
    diff = np.array([o - p for _, p, o in rows])
    print("lang  MTEB(e5-small fp32)  ours(q4)  diff")
    for code, p, o in rows:
        print(f"{code}  {p:.3f}  {o:.3f}  {o - p:+.3f}")
    print(
        f"{len(rows)} languages: mean published {np.mean([p for _, p, _ in rows]):.4f}, "
        f"ours {np.mean([o for _, _, o in rows]):.4f}, mean diff {diff.mean():+.4f}, "
        f"median {np.median(diff):+.4f}, |diff| max {np.abs(diff).max():.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
