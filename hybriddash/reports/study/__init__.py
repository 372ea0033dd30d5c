"""The study read from the store, one job per module.

- :mod:`~hybriddash.reports.study.roles`: runs sorted into roles (strategy, alpha, seed,
  correction) per benchmark;
- :mod:`~hybriddash.reports.study.hierarchical_bootstrap`: the decision rule's
  resampling (translation groups and seeds) as pure numpy functions;
- :mod:`~hybriddash.reports.study.comparisons`: claims -> comparison rows -> claim rows
  (the registry another study question plugs into: :func:`register_claim`);
- :mod:`~hybriddash.reports.study.curves`: gains, alpha sweep, learning curves,
  deviations, the seed table;
- :mod:`~hybriddash.reports.study.markdown`: ``docs/results.md`` and the README section;
- :mod:`~hybriddash.reports.study.page`: the Findings page's entry points.

The names below are re-exported so ``from hybriddash.reports import study as S`` keeps
working for pages, commands, benchmarks and tests.
"""

from hybriddash.reports.study.comparisons import (
    ALPHA,
    CLAIMS,
    CONTRADICTED,
    INCONCLUSIVE,
    MARGIN,
    MIN_SEEDS,
    SUPPORTED,
    ClaimRow,
    ComparisonRow,
    Planned,
    claim_frame,
    comparison_frame,
    decide_study,
    register_claim,
    study_verdicts,
)
from hybriddash.reports.study.curves import (
    alpha_curve,
    language_gains,
    learning_curve_markdown,
    learning_curves,
    protocol_deviations,
    seed_table,
    stable_order_budget,
)
from hybriddash.reports.study.markdown import (
    WALL_TIME_TARGET_HOURS,
    _machine_label,
    _machine_names,
    code_versions,
    study_markdown,
    study_report,
    wall_time_markdown,
)
from hybriddash.reports.study.page import (
    findings_alpha_curve,
    findings_deviations,
    findings_gains,
    findings_learning_curves,
    findings_questions,
    findings_seed_display,
    findings_seeds,
    findings_verdicts,
    reference_info,
)
from hybriddash.reports.study.roles import (
    HYBRID_ALPHA,
    STRATEGY_LABELS,
    Loader,
    classify_runs,
    paired_difference,
    questions_bundle_runs,
    role_label,
    role_runs,
    seed_mean_values,
    select_study,
    store_loader,
    study_runs,
)
from hybriddash.reports.study.rule import DECISION_RULE_MD

__all__ = [
    "ALPHA", "CLAIMS", "CONTRADICTED", "DECISION_RULE_MD", "INCONCLUSIVE", "SUPPORTED", "HYBRID_ALPHA", "MARGIN", "MIN_SEEDS",
    "STRATEGY_LABELS", "WALL_TIME_TARGET_HOURS", "ClaimRow", "ComparisonRow", "Loader",
    "Planned", "_machine_label", "_machine_names", "alpha_curve",
    "claim_frame", "classify_runs", "code_versions", "comparison_frame", "decide_study",
    "findings_alpha_curve", "findings_deviations", "findings_gains",
    "findings_learning_curves", "findings_questions", "findings_seed_display", "findings_seeds", "findings_verdicts", "language_gains",
    "learning_curve_markdown", "learning_curves", "paired_difference", "protocol_deviations",
    "reference_info", "register_claim", "role_label", "role_runs", "seed_mean_values",
    "seed_table", "select_study", "stable_order_budget", "store_loader", "study_markdown",
    "questions_bundle_runs", "study_report", "study_runs", "study_verdicts", "wall_time_markdown",
]  # fmt: skip
