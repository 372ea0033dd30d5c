"""The study's decision rule as written in ``docs/results.md`` (a test keeps the two
identical); :mod:`hybriddash.reports.study.markdown` repeats it in every report."""

DECISION_RULE_MD = """## Decision rule

Rewritten for issue 22 before any number under it was computed (the commit that changed
this section holds nothing else); it replaces the rule of issue 12 (query-level TOST and
sign-flip tests on seed-averaged per-query differences, ASO across seeds), whose verdicts
are kept beside the new ones under "Verdicts". Implemented in
`hybriddash/reports/study/hierarchical_bootstrap.py` (pure numpy) and
`hybriddash/reports/study/comparisons.py`, tested on constructed data with known answers
(`tests/test_hierarchical_bootstrap.py`).

- **Statistic: the headline statistic itself.** For model M, seed s and measure σ,
  `H_σ(M, s)` is the headline number of the results table: the macro average of mAP over
  (query language, candidate language) pairs (monolingual: X->X pairs; cross-lingual:
  ordered pairs X != Y; multilingual: X->all), or, for rank distance, the mean over query
  languages of the per-language mean rank distance. A comparison "A vs B" on one
  evaluation benchmark has the effect `Δ = mean_s H_σ(A, s) - mean_s H_σ(B, s)`, the
  difference of the two rows of the headline table (mean over seeds), in the measure's
  unit: **mAP** (monolingual, cross-lingual, multilingual) or **rank positions** (rank
  distance). Each comparison is one row: claim, benchmark, A vs B, measure, unit, effect,
  interval, p, deciding test, per-seed values.
- **Variance: a hierarchical bootstrap** (Saravanan et al. 2020; Bouthillier et al.
  2021), **B = 10,000 resamples**. Each resample (1) draws the benchmark's translation
  groups with replacement, as many as it has (XQuAD-R: a group is one question id with its
  11 translations, 1,190 groups; MLQA-R: one question id with its 2-4 languages, 1,148
  groups); a query's weight is its group's multiplicity, the same for every model on that
  benchmark (paired); and (2) draws, for each trained model separately, as many seeds as
  it has with replacement (seeds of different models are not paired: seed 0 of two
  strategies shares nothing). The untrained base, with or without a correction, is
  deterministic: one value, only the groups resample. On each resample every `H` is
  recomputed from the per-query rows with those weights (pair mean = weighted sum of AP /
  weighted count, then the macro average as above) and `Δ*` is the difference of the
  seed means. Without resampling (all weights 1, every seed once) `Δ*` is `Δ`, tested to
  1e-9. Random numbers: `numpy.random.default_rng`, seeded per benchmark (groups) and per
  (benchmark, model) (seeds) from fixed CRC32 keys, so a verdict does not change when
  another model is added to the store.
- **Multiplicity: Bonferroni over the comparisons.** With `m` = the number of comparisons
  that have data (both benchmarks together; 20 in the standard study: 11 on XQuAD-R,
  9 on MLQA-R, which has no alpha sweep), each comparison is tested at `α' = 0.05 / m` and its
  interval is the `1 - 2α'` percentile interval of `Δ*` (99.5% for m = 20). Every
  comparison row is a finding a reader may quote on its own, so the family is the
  comparisons; Bonferroni rather than Holm so that the interval printed is the test
  (under Holm a row's level would depend on the other rows' p-values).
- **"Matches"** (claims a, b, e; margin **±0.01 mAP**): *supported* when the interval lies
  within (-0.01, +0.01); *contradicted* when it lies wholly beyond the margin on one side;
  otherwise *inconclusive*. Bootstrap p = max(share of `Δ*` <= -0.01, share of `Δ*` >= +0.01)
  (the two one-sided tests of TOST, read off the resamples).
- **"Better"** (claims c, d, f): *supported* when the interval excludes 0 on the claimed
  side (higher mAP; lower rank distance), *contradicted* when it excludes 0 on the other
  side, otherwise *inconclusive*. Bootstrap p = share of `Δ*` on the wrong side of 0
  (one-sided). A comparison passes iff its p < α', which is the same event as its interval
  clearing the bound.
- **Composite claims** (c, e, f) are intersection-union tests (Berger 1982): supported
  when every comparison is supported (each at α'; no further correction is needed for an
  "all of them" claim), contradicted when any comparison is contradicted (covered by the
  comparison-level Bonferroni), otherwise inconclusive. The claim's row is built from its
  comparison rows and names the comparison that decided.
- **Seeds.** Fewer than **3 seeds** for a trained model: *inconclusive*, whatever the
  interval. Models with 3 or 5 seeds, and a study whose plan is not complete, use the
  seeds that are there (the row states how many). With 3 seeds the resample that draws
  one seed three times has probability 1/27, far above α', so one seed whose difference
  lies beyond the margin carries the interval beyond it and blocks "matches"; with 5
  seeds one outlier weighs 1/5 of the mean, and the interval widens by that much.
- **ASO (deepsig) no longer decides.** The bootstrap already carries seed variance into
  every interval; ASO on 3-5 seed scores per model is a second test of the same variance
  with its own calibration, and a verdict needing both would be decided by whichever is
  noisier. What remains of a seed-level check is descriptive: the per-seed differences
  (each seed of A minus the mean of B's seeds) are shown as dots on the Findings page's
  forest plot and listed in the tables, with the count of seeds on the claimed side.
- **Power.** `SE` = standard deviation of `Δ*`. For "better", the minimum detectable
  effect at 80% power is `MDE = (z_{1-α'} + z_{0.80}) · SE` (normal approximation of the
  one-sided test at α'). For "matches", the smallest margin the study could show at 80%
  power when the true difference is 0 is `(z_{1-α'} + z_{0.90}) · SE` (both one-sided
  tests must pass: power ≈ 1 - 2Φ(z_{1-α'} - δ/SE)); above 0.01 the study is too small to
  show "matches" at this margin even with no true difference, so "inconclusive" there
  means "too small to see", not "different". A claim's figure is the largest of its
  comparisons'.
- **Missing models** (no X-Y run, no alpha sweep, no corrected run): *inconclusive*,
  saying what is missing.
- **Claims.** (a) Hybrid (alpha 0.5) vs X-X-mono, monolingual mAP, "matches".
  (b) Hybrid vs X-Y, cross-lingual mAP, "matches". (c) Hybrid vs X-X-mono and Hybrid vs
  X-Y, multilingual mAP, "better" (both). (d) Hybrid vs X-X-mono, rank distance, "better"
  (lower). (e) Every swept alpha in [0.4, 0.6] vs alpha 0.5, multilingual mAP,
  "matches"; when the sweep has none besides 0.5 (grid 0 / 0.25 / 0.5 / 0.75 / 1), the
  nearest alpha on each side (0.25 and 0.75) brackets the interval, a stricter test.
  (f) Hybrid vs the base with the best correction (highest multilingual mAP among the
  corrections of the base) and Hybrid with that correction vs Hybrid, each on
  multilingual mAP and on rank distance: four comparisons, four rows, "better". Each
  claim is judged per benchmark; the tables report every verdict, whichever way it falls."""
