"""The pipeline: one run from changed records to a ranked, shortlisted deal list.

``reos pipeline run`` takes the properties whose records changed since the last finished
run through normalise → resolve owners → refresh derived lists → value → underwrite →
score → shortlist, each stage through the owning domain's front. The work is split into
chunks stored in ``pipeline_chunks``; a chunk's work and its done mark are one transaction,
so a killed run is finished by running it again, and on PostgreSQL several worker processes
share the chunks (``FOR UPDATE SKIP LOCKED``). Nothing is imported here, so declaring the
domain stays cheap.
"""

from reos.frontdoor import Commands, Domain, Schedule

#: How often the job workers look whether an organisation's daily run is due (seconds):
#: a run set for 06:00 starts by 06:05.
DAILY_CHECK_SECONDS = 300

DOMAIN = Domain(
    name="pipeline",
    router="reos.pipeline.api:router",
    commands=Commands("reos.pipeline.commands", ("pipeline",)),
    jobs="reos.pipeline.jobs",
    schedules=(Schedule("pipeline.daily", DAILY_CHECK_SECONDS),),
)
