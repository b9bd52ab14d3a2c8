"""Deal flow: the lists that signal a motivated seller, list stacking, saved searches and
the deal score.

Lists are imported from files (``reos import list FILE --kind KIND``: matched to stored
properties by normalised parcel number, else by normalised address; unmatched rows kept
with their reason) or derived from the store (absentee, out-of-state, long ownership,
equity, corporate portfolios) as saved queries that refresh. A property's stack is the
lists it is on, with their dates. The deal score (0-100, :mod:`reos.dealflow.scoring`)
is a documented weighting of motivation, economics and confidence, or a LightGBM model
trained on the organisation's outcomes once it beats the weights on a holdout. The front
for other domains and the pipeline: :mod:`reos.dealflow.service` (``score_properties``,
``train_score_model``, ``refresh_derived_lists``) and :mod:`reos.dealflow.read_model`
(``latest_scores``, ``stacks``).
"""

from reos.frontdoor import Commands, Domain, Schedule

DOMAIN = Domain(
    name="dealflow",
    router="reos.dealflow.api:router",
    commands=Commands("reos.dealflow.commands", ("lists", "searches", "score")),
    jobs="reos.dealflow.jobs",
    # the derived lists refresh themselves daily, pipeline run or not (dealflow.jobs)
    schedules=(Schedule("dealflow.derived_lists", 24 * 60 * 60),),
)
