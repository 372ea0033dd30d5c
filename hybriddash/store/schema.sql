-- hybriddash store schema (DuckDB). The contract between the backend and the UI:
-- every page and every export is a query over these tables.
-- Conventions: language codes are canonical (hybriddash.languages); ranks are
-- 1-based; mAP/AP values are in [0, 1]; fingerprints are 16 hex characters.
--
-- Keys. Small tables carry PRIMARY KEYs. The per-query tables of a run
-- (query_metrics, query_relevant_ranks, query_bias, topk_hits: up to 1.3M rows
-- per full-XQuAD-R run) and model_training_groups carry none: an ART index over
-- millions of rows makes every insert and every open of the file slow. Their key
-- is written beside each table and enforced by hybriddash.store.writes, the only
-- writer, which deletes a run's (model's) rows and inserts the new ones in one
-- transaction.
--
-- schema_info holds ('schema_version', hybriddash.store.db.SCHEMA_VERSION); bump
-- both whenever a table changes.

CREATE TABLE IF NOT EXISTS schema_info (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

-- One row per model the store knows (base, hub, trained, uploaded path).
CREATE TABLE IF NOT EXISTS models (
    model_id          VARCHAR PRIMARY KEY,   -- stable id shown everywhere
    fingerprint       VARCHAR NOT NULL,      -- weights hash or training-config hash
    kind              VARCHAR NOT NULL,      -- offline-base | sentence-transformers | trained | tiny
    source            VARCHAR,               -- folder path or hub id
    description       VARCHAR,
    query_prefix      VARCHAR,
    passage_prefix    VARCHAR,
    sampler           VARCHAR,               -- mono | cross | hybrid (trained models)
    alpha             DOUBLE,
    base_model_id     VARCHAR,
    train_dataset     VARCHAR,               -- dataset id (with subset) it was trained on
    train_corpus_fp   VARCHAR,               -- fingerprint of that training corpus
    training_card     JSON,                  -- the card saved beside the model
    registered_at     TIMESTAMP DEFAULT current_timestamp,
    -- a corrected encoder ("<model> + <correction>", hybriddash.encoders.corrections):
    correction        VARCHAR,               -- center-docs | center | shift (NULL: plain model)
    correction_of     VARCHAR,               -- model_id of the uncorrected model
    correction_fit    VARCHAR                -- fit corpus (center, shift); NULL for center-docs
);

-- Training curves of trained models, from the training card, written with the model's
-- registration: the training loss per logged step; at each validation the validation
-- loss and the multilingual mAP of held-out groups (hybriddash.training.curves).
-- Key: (model_id, step, split, metric).
CREATE TABLE IF NOT EXISTS training_curves (
    model_id   VARCHAR NOT NULL,
    step       INTEGER NOT NULL,
    split      VARCHAR NOT NULL,             -- train | validation
    metric     VARCHAR NOT NULL,             -- loss | map_multilingual
    value      DOUBLE NOT NULL,
    elapsed_s  DOUBLE                        -- wall seconds since the run started
);

-- Parallel groups (question ids) and question texts a model was trained on:
-- the contamination guard joins evaluation queries against this.
-- Key: (model_id, group_id, text_hash); text_hash is NULL when only the group is known.
CREATE TABLE IF NOT EXISTS model_training_groups (
    model_id   VARCHAR NOT NULL,
    group_id   VARCHAR NOT NULL,
    text_hash  VARCHAR                       -- sha1 of a normalised question text
);

-- One row per corpus (dataset + subset) that was evaluated.
CREATE TABLE IF NOT EXISTS corpora (
    corpus_fp     VARCHAR PRIMARY KEY,
    dataset_id    VARCHAR NOT NULL,          -- xquad-r | mlqa-r | sample | upload:<name>
    name          VARCHAR NOT NULL,          -- dataset id with its subset, e.g. xquad-r[en,de;articles=4]
    subset        JSON,
    languages     VARCHAR[],
    n_queries     INTEGER,
    n_candidates  INTEGER,
    registered_at TIMESTAMP DEFAULT current_timestamp
);

-- One evaluation of one model on one corpus. run_id = hash(model fp, corpus fp,
-- encode mode, k, metrics version): re-running the same thing replaces nothing.
CREATE TABLE IF NOT EXISTS runs (
    run_id         VARCHAR PRIMARY KEY,
    model_id       VARCHAR NOT NULL,
    model_fp       VARCHAR NOT NULL,
    corpus_fp      VARCHAR NOT NULL,
    dataset_id     VARCHAR NOT NULL,
    corpus_name    VARCHAR NOT NULL,
    encode_mode    VARCHAR NOT NULL,         -- float32 | bf16 | int8 | onnx ...
    top_k          INTEGER NOT NULL,
    metrics_version VARCHAR,                 -- hybriddash.evaluation.METRICS_VERSION
    languages      VARCHAR[],                -- languages of the corpus, sorted
    n_queries      INTEGER,
    n_candidates   INTEGER,
    n_encoded      INTEGER,                  -- texts encoded for this run (0: all from the cache)
    n_cached       INTEGER,                  -- texts read from the embedding cache
    contaminated   BOOLEAN DEFAULT FALSE,    -- shares groups/texts with the model's training data
    contamination_note VARCHAR,
    wall_seconds   DOUBLE,
    created_at     TIMESTAMP DEFAULT current_timestamp,
    -- post-hoc correction of the embeddings (model_id is then "<model> + <label>"):
    correction     VARCHAR,                  -- center-docs | center | shift; NULL = none
    correction_of  VARCHAR,                  -- model_id of the uncorrected model
    correction_fit VARCHAR,                  -- fit corpus name (center, shift)
    correction_info JSON                     -- what the correction was fitted on (counts, fps)
);

-- Headline numbers of a run, macro-averaged as in the paper.
CREATE TABLE IF NOT EXISTS run_headline (
    run_id          VARCHAR PRIMARY KEY,
    monolingual     DOUBLE,   -- mean over languages X of mAP(X -> X)
    crosslingual    DOUBLE,   -- mean over pairs X != Y of mAP(X -> Y)
    multilingual    DOUBLE,   -- mean over X of mAP(X -> all)
    rank_distance   DOUBLE,   -- mean over X of mean over queries (lowest - highest relevant rank)
    ndcg_at_10      DOUBLE,   -- multilingual pool, macro over X
    recall_at_100   DOUBLE    -- multilingual pool, macro over X
);

-- mAP per (query language, candidate language); cand_lang = 'all' for the pooled setting.
CREATE TABLE IF NOT EXISTS run_pair_metrics (
    run_id      VARCHAR NOT NULL,
    query_lang  VARCHAR NOT NULL,
    cand_lang   VARCHAR NOT NULL,
    setting     VARCHAR NOT NULL,   -- monolingual | crosslingual | multilingual
    map         DOUBLE,
    ndcg_at_10  DOUBLE,
    recall_at_100 DOUBLE,
    n_queries   INTEGER,
    PRIMARY KEY (run_id, query_lang, cand_lang)
);

-- Per-query metrics per setting (the basis of significance tests and exports).
-- Key: (run_id, query_id, cand_lang).
CREATE TABLE IF NOT EXISTS query_metrics (
    run_id      VARCHAR NOT NULL,
    query_id    VARCHAR NOT NULL,
    query_lang  VARCHAR NOT NULL,
    group_id    VARCHAR NOT NULL,
    cand_lang   VARCHAR NOT NULL,   -- a language, or 'all'
    setting     VARCHAR NOT NULL,
    ap          DOUBLE,
    ndcg_at_10  DOUBLE,
    recall_at_100 DOUBLE,
    first_relevant_rank INTEGER,
    n_relevant  INTEGER
);

-- Rank (in the pooled, all-language set) of each relevant candidate of each query.
-- Key: (run_id, query_id, candidate_id).
CREATE TABLE IF NOT EXISTS query_relevant_ranks (
    run_id      VARCHAR NOT NULL,
    query_id    VARCHAR NOT NULL,
    query_lang  VARCHAR NOT NULL,
    cand_lang   VARCHAR NOT NULL,
    candidate_id VARCHAR NOT NULL,
    pooled_rank INTEGER NOT NULL
);

-- Language bias per query (pooled setting). Key: (run_id, query_id).
CREATE TABLE IF NOT EXISTS query_bias (
    run_id        VARCHAR NOT NULL,
    query_id      VARCHAR NOT NULL,
    query_lang    VARCHAR NOT NULL,
    rank_distance INTEGER            -- lowest-ranked relevant minus highest-ranked relevant
);

-- Per-query top-k in the pooled set (faiss), what the explorer and dominance pages show.
-- Key: (run_id, query_id, rank).
CREATE TABLE IF NOT EXISTS topk_hits (
    run_id       VARCHAR NOT NULL,
    query_id     VARCHAR NOT NULL,
    rank         INTEGER NOT NULL,
    candidate_id VARCHAR NOT NULL,
    cand_lang    VARCHAR NOT NULL,
    score        REAL NOT NULL,
    relevant     BOOLEAN NOT NULL
);

-- Share of each candidate language in the pooled top-k, per query language, k = 1..top_k.
CREATE TABLE IF NOT EXISTS run_lang_share (
    run_id      VARCHAR NOT NULL,
    query_lang  VARCHAR NOT NULL,
    k           INTEGER NOT NULL,
    cand_lang   VARCHAR NOT NULL,
    share       DOUBLE NOT NULL,     -- fraction of the top-k slots, averaged over queries
    PRIMARY KEY (run_id, query_lang, k, cand_lang)
);

-- Query-language preference per query language ('all' = macro mean over languages):
-- MLAIRE's Language Preference Rate and top-1 split (hybriddash.metrics.language_preference)
-- and the Mean Rank Correlation of parallel queries' top-k (hybriddash.metrics.rank_correlation).
CREATE TABLE IF NOT EXISTS run_language_preference (
    run_id          VARCHAR NOT NULL,
    query_lang      VARCHAR NOT NULL,
    lpr             DOUBLE,    -- share of queries whose own-language answer ranks first
    lpr_chance      DOUBLE,    -- same without preference: mean of 1 / (languages answered)
    n_lpr           INTEGER,   -- queries with an answer in their language and in another
    relevant_same   DOUBLE,    -- top-1 relevant, in the query language
    relevant_other  DOUBLE,    -- top-1 relevant, in another language
    wrong_same      DOUBLE,    -- top-1 wrong, in the query language (preference failure)
    wrong_other     DOUBLE,    -- top-1 wrong, in another language (semantic failure)
    n_queries       INTEGER,
    mrc             DOUBLE,    -- mean Kendall tau-b of parallel queries' top-k lists
    n_mrc_pairs     INTEGER,
    mrc_k           INTEGER,   -- depth of the lists compared
    PRIMARY KEY (run_id, query_lang)
);

-- Bitext retrieval accuracy (P@1) per ordered language pair X -> Y (X != Y): the share of
-- X's queries whose top-1 candidate in Y's pool is relevant (metrics/bitext_accuracy.py).
-- TICO-19 / Tatoeba / XNLI test: translation retrieval accuracy per direction.
CREATE TABLE IF NOT EXISTS run_bitext_accuracy (
    run_id     VARCHAR NOT NULL,
    query_lang VARCHAR NOT NULL,
    cand_lang  VARCHAR NOT NULL,
    accuracy   DOUBLE NOT NULL,
    n_queries  INTEGER NOT NULL,
    PRIMARY KEY (run_id, query_lang, cand_lang)
);

-- Language-agnosticism: cross-validated accuracy of a linear language-ID probe on the
-- candidate embeddings the run ranked (metrics/language_probe.py; Libovicky et al. 2020).
-- One row per language (its recall) and one 'all' row (accuracy); lower = more agnostic.
CREATE TABLE IF NOT EXISTS run_language_probe (
    run_id     VARCHAR NOT NULL,
    lang       VARCHAR NOT NULL,
    accuracy   DOUBLE NOT NULL,   -- 'all': accuracy; a language: recall of that language
    chance     DOUBLE NOT NULL,   -- majority-class share of the probed sample
    n_samples  INTEGER NOT NULL,
    n_folds    INTEGER NOT NULL,
    PRIMARY KEY (run_id, lang)
);

-- The probe's items: each probed candidate with its parallel group and whether the
-- out-of-fold probe named its language (their mean = the 'all' accuracy above). A
-- bootstrap over groups re-weights them without refitting (docs/results.md, Q2).
CREATE TABLE IF NOT EXISTS run_language_probe_items (
    run_id     VARCHAR NOT NULL,
    item_id    VARCHAR NOT NULL,
    lang       VARCHAR NOT NULL,
    group_id   VARCHAR NOT NULL,
    correct    BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, item_id)
);

-- Texts of queries and candidates per corpus, so pages can show hits without loading the corpus.
CREATE TABLE IF NOT EXISTS corpus_queries (
    corpus_fp VARCHAR NOT NULL,
    query_id  VARCHAR NOT NULL,
    lang      VARCHAR NOT NULL,
    group_id  VARCHAR NOT NULL,
    text      VARCHAR NOT NULL,
    PRIMARY KEY (corpus_fp, query_id)
);
CREATE TABLE IF NOT EXISTS corpus_candidates (
    corpus_fp    VARCHAR NOT NULL,
    candidate_id VARCHAR NOT NULL,
    lang         VARCHAR NOT NULL,
    text         VARCHAR NOT NULL,
    groups       VARCHAR[],
    PRIMARY KEY (corpus_fp, candidate_id)
);

-- Cached 2-D projections (UMAP) for the alignment page.
CREATE TABLE IF NOT EXISTS projections (
    projection_id VARCHAR NOT NULL,   -- hash(model fp, corpus fp, item selection, UMAP params)
    model_id      VARCHAR NOT NULL,
    corpus_fp     VARCHAR NOT NULL,
    item_id       VARCHAR NOT NULL,
    item_kind     VARCHAR NOT NULL,   -- candidate | query
    lang          VARCHAR NOT NULL,
    group_id      VARCHAR,
    x             DOUBLE NOT NULL,
    y             DOUBLE NOT NULL,
    PRIMARY KEY (projection_id, item_id)
);

-- Result bundles loaded into this store as reference results (hybriddash.store.bundle):
-- the manifest names the runs, machine, date, command and code version. Key: bundle_id.
CREATE TABLE IF NOT EXISTS reference_bundles (
    bundle_id  VARCHAR PRIMARY KEY,
    path       VARCHAR,
    manifest   JSON,
    loaded_at  TIMESTAMP
);
