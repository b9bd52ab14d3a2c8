"""Deal flow's front door for other domains, the pipeline and its own entry points.

The functions live in the modules named for what they do (:mod:`reos.dealflow.lists`,
:mod:`reos.dealflow.searches`, :mod:`reos.dealflow.scores`); this module is the one other
domains import. Every function works in the session's organisation and flushes; the
caller commits.
"""

from __future__ import annotations

from reos.dealflow.lists import (
    DERIVED_RULES,
    LIST_KINDS,
    ListImportReport,
    add_to_list,
    get_list,
    import_list,
    list_lists,
    members,
    refresh_derived_lists,
    rematch_unmatched,
)
from reos.dealflow.scores import (
    ScoreModelReport,
    list_models,
    score_properties,
    top_scores,
    train_score_model,
)
from reos.dealflow.scoring import Driver, PropertyScore
from reos.dealflow.searches import (
    SearchRun,
    create_search,
    delete_search,
    find_search,
    get_search,
    list_searches,
    run_search,
    update_search,
)

__all__ = [
    "DERIVED_RULES",
    "LIST_KINDS",
    "Driver",
    "ListImportReport",
    "PropertyScore",
    "ScoreModelReport",
    "SearchRun",
    "add_to_list",
    "create_search",
    "delete_search",
    "find_search",
    "get_list",
    "get_search",
    "import_list",
    "list_lists",
    "list_models",
    "list_searches",
    "members",
    "refresh_derived_lists",
    "rematch_unmatched",
    "run_search",
    "score_properties",
    "top_scores",
    "train_score_model",
    "update_search",
]
