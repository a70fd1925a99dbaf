"""Background-job benchmark on PostgreSQL (default 1,000,000 leads, 10,000,000 events):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadscore_bench python benchmarks/jobs.py

Prints recalculation, decay and snapshot seconds, peak memory, and — measured in the same
run, on the same data — the lower bound for a recalculation: one SQL aggregate over all
events plus a COPY write of one score per lead. Then recalculation and preview as chunk jobs
drained by 1 and 2 real RQ worker processes (`manage.py rqworker --burst`), with each
worker's CPU seconds and peak memory, and every figure's ratio to the lower bound."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.dataset import DEFAULT_URL, ensure_dataset, setup_django  # noqa: E402


def timed(label, action):
    started = time.monotonic()
    result = action()
    seconds = time.monotonic() - started
    print(f"{label:<34} {seconds:8.1f} s   {result if result is not None else ''}", flush=True)
    return seconds


def recalculate():
    import json

    from models_review.recalculation import recalculation_execute
    from models_review.services import DEFAULT_MODEL_FILE, version_import

    data = json.loads(DEFAULT_MODEL_FILE.read_text())
    data["note"] = "benchmark: republished to recalculate every lead"
    version = version_import(data=data, publish=True)  # queues a run; executed here, in this process
    _queue_empty("recalc")
    run = version.recalculations.get()
    run = recalculation_execute(run_id=run.pk)
    return f"{run.done:,} leads"


def recalculate_sample(leads: int):
    """Recalculate only the first `leads` leads (same code path, chunk by chunk) and project
    the full run from the measured rate: for a shared machine where the full run is too long."""
    from django.utils import timezone

    from leads.background.recalculation import replay_chunk
    from leads.ingest.assets import AssetCatalog
    from leads.models import Lead
    from leads.services import active_version
    from models_review.recalculation import CHUNK_SIZE

    version, catalog, as_of = active_version(), AssetCatalog.load(), timezone.now()
    started, done, after = time.monotonic(), 0, 0
    while done < leads and (
        chunk := replay_chunk(version=version, after_id=after, limit=CHUNK_SIZE, as_of=as_of, catalog=catalog)
    ):
        done, after = done + chunk.leads, chunk.last_lead_id
    rate = done / (time.monotonic() - started)
    total = Lead.objects.count()
    return f"{done:,} leads at {rate:,.0f} leads/s → projected {total / rate:,.0f} s for all {total:,}"


BASE_DIR = Path(__file__).resolve().parent.parent


def _queue_empty(name: str) -> None:
    from scoring_site.queueing import queue

    queue(name).empty()


def workers_drain(queue_name: str, workers: int) -> list[tuple[float, float]]:
    """Start `workers` burst RQ workers on the queue (their own processes, as in production)
    and wait for all. (CPU seconds, peak MB) of each, work-horse children included."""
    command = [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", queue_name, "--burst"]
    env = {**os.environ, "CHUNK_JOBS": "always"}
    logs = [open(BASE_DIR / "var" / f"bench-worker-{n + 1}.log", "w") for n in range(workers)]  # noqa: SIM115
    processes = [
        subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT) for log in logs
    ]
    usage = []
    for process in processes:
        _, _, rusage = os.wait4(process.pid, 0)
        usage.append((rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss / 1024))
    for log in logs:
        log.close()
    return usage


def _publish_again():
    import json

    from models_review.services import DEFAULT_MODEL_FILE, version_import

    data = json.loads(DEFAULT_MODEL_FILE.read_text())
    data["note"] = "benchmark: republished to recalculate every lead"
    version = version_import(data=data, publish=True)
    _queue_empty("recalc")  # the publish queued its run; this benchmark starts it itself
    return version.recalculations.get()


def recalculate_chunk_jobs(workers: int):
    """The run splits into chunk jobs (here, in this process: a millisecond's work), then
    `workers` worker processes take them; the last chunk finishes the run."""
    from django.conf import settings

    from models_review.models import RecalculationRun
    from models_review.recalculation import recalculation_execute

    run = _publish_again()
    settings.CHUNK_JOBS = "always"
    try:
        recalculation_execute(run_id=run.pk)
    finally:
        settings.CHUNK_JOBS = "never"
    recalculate_chunk_jobs.usage = workers_drain("recalc", workers)
    run = RecalculationRun.objects.get(pk=run.pk)
    if run.status != RecalculationRun.Status.DONE:
        raise SystemExit(f"recalculation run {run.pk} ended {run.status}: {run.error}")
    return f"{run.done:,} leads in {run.chunks.count()} chunks · " + _usage_text(recalculate_chunk_jobs.usage)


def _usage_text(usage) -> str:
    return " · ".join(f"worker {n + 1}: {cpu:.1f} s CPU, {mb:.0f} MB" for n, (cpu, mb) in enumerate(usage))


def _draft():
    from leads.services import active_version
    from models_review.models import ModelVersion
    from models_review.services import draft_copy, draft_rule_save

    draft = draft_copy(source=active_version(), by=None)
    rule = draft.rules.filter(event_type="form_submit").first()
    if rule is not None:
        draft_rule_save(version=draft, rule={"event_type": "form_submit", "points": 40}, rule_id=rule.pk)
    ModelVersion.objects.filter(pk=draft.pk).update(note="benchmark: forms count more")
    return draft


def preview(workers: int):
    """A draft's preview over every lead: one job in this process (workers=0) or chunk jobs
    drained by `workers` worker processes."""
    from django.conf import settings

    from models_review.models import PreviewRun
    from models_review.preview import compute
    from models_review.services import preview_request

    run = preview_request(draft=_draft())
    _queue_empty("default")  # the request queued its job; this benchmark starts it itself
    settings.CHUNK_JOBS = "always" if workers else "never"
    try:
        compute(run_id=run.pk)
    finally:
        settings.CHUNK_JOBS = "never"
    preview.usage = workers_drain("default", workers) if workers else []
    run = PreviewRun.objects.get(pk=run.pk)
    if run.status != PreviewRun.Status.DONE:
        raise SystemExit(f"preview run {run.pk} ended {run.status}")
    return f"{run.chunks.count()} chunks" + (" · " + _usage_text(preview.usage) if workers else "")


LABEL_EVERY = 200  # one labelled lead in 200: 5,000 labels at 1M


def likelihood_labels():
    """Outcome labels for one lead in LABEL_EVERY, written in one SQL statement: positive when
    the lead submitted a form in the 30 days before its label, so the fit has something to
    find. Labels already written by an earlier run are kept (their keys are unique)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO models_review_outcomelabel
                   (lead_id, really_sales_ready, outcome, reason, at, source, key, created_at)
            SELECT l.id,
                   EXISTS (SELECT 1 FROM leads_event e
                            WHERE e.lead_id = l.id AND e.type = 'form_submit'
                              AND e.occurred_at > now() - interval '40 days'
                              AND e.occurred_at <= now() - interval '10 days'),
                   '', '', now() - interval '10 days' + (l.id %% 86400) * interval '1 second',
                   'benchmark', 'bench-' || l.id, now()
              FROM leads_lead l
             WHERE l.id %% %s = 0
            ON CONFLICT (key) DO NOTHING""",
            [LABEL_EVERY],
        )
        cursor.execute("SELECT count(*) FROM models_review_outcomelabel WHERE source = 'benchmark'")
        return f"{cursor.fetchone()[0]:,} labels"


def learn():
    from models_review.learning.services import learning_train

    run = learning_train()
    holdout = run.result.get("holdout", {})
    labels = f"{run.positives:,} positive / {run.negatives:,} negative"
    return f"{run.get_status_display()}: {labels}, AUC {holdout.get('auc')}"


def likelihood(workers: int):
    """Every lead scored with the latest validated run: in this process, chunk after chunk
    (workers=0), or as the nightly job's chunk jobs drained by `workers` worker processes."""
    from django.utils import timezone

    from models_review.learning.services import (
        QUEUE,
        latest_validated_run,
        likelihood_chunks_enqueue,
        likelihood_score_now,
    )

    as_of = timezone.now()
    if not workers:
        return f"{likelihood_score_now(as_of=as_of):,} leads"
    _queue_empty(QUEUE)
    chunks = likelihood_chunks_enqueue(latest_validated_run(), as_of=as_of)
    likelihood.usage = workers_drain(QUEUE, workers)
    return f"{chunks} chunks · " + _usage_text(likelihood.usage)


def seed_unscored_for_decay():
    """After a sampled recalculation most leads have no score yet; give them a plausible
    state in one SQL statement (6 points per event, capped at 180, stage from the score,
    last engaged at the latest event) so the decay benchmark covers all leads."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE leads_lead AS l
               SET score = LEAST(a.n * 6, 180), scored_at = a.latest, last_engaged_at = a.latest,
                   stage = CASE WHEN a.n * 6 >= 100 THEN 4 WHEN a.n * 6 >= 67 THEN 3
                                WHEN a.n * 6 >= 33 THEN 2 ELSE 1 END
              FROM (SELECT lead_id, count(*) AS n, max(occurred_at) AS latest
                      FROM leads_event GROUP BY lead_id) AS a
             WHERE l.id = a.lead_id AND l.scored_with_id IS NULL""")
        return f"{cursor.rowcount:,} leads seeded"


def decay(days_ahead: int):
    from django.utils import timezone

    from leads.background.decay import decay_materialise

    return decay_materialise(now=timezone.now() + timedelta(days=days_ahead))


def snapshot():
    from django.utils import timezone

    from leads.background.daily import snapshot_take

    return f"{sum(snapshot_take(day=timezone.localdate()).values()):,} leads counted"


def lower_bound_aggregate():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT lead_id, count(*), max(occurred_at) FROM leads_event GROUP BY lead_id")
        rows = cursor.fetchall()
    lower_bound_aggregate.rows = rows
    return f"{len(rows):,} groups"


def lower_bound_copy():
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scores")
        cursor.execute("CREATE TEMP TABLE bench_scores (lead_id bigint, score double precision)")
        with cursor.copy("COPY bench_scores (lead_id, score) FROM STDIN") as copy:
            for lead_id, count, _ in lower_bound_aggregate.rows:
                copy.write_row((lead_id, float(count)))
        cursor.execute("SELECT count(*) FROM bench_scores")
        written = cursor.fetchone()[0]
    raw.commit()
    return f"{written:,} rows"


def vacuum_analyze():
    """Stand-in for autovacuum (off on some servers, this one included): a recalculation or a
    decay run rewrites up to every lead row, and without VACUUM the next job reads a table
    several times its size. Timed and printed apart from the jobs."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    autocommit = raw.autocommit
    raw.autocommit = True  # VACUUM can't run inside a transaction
    try:
        for table in ("leads_lead", "leads_productscore", "leads_stagechange", "leads_event"):
            raw.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.autocommit = autocommit
    return "leads, product scores, stage changes, events"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--skip-recalculation",
        action="store_true",
        help="measure decay, snapshot and the lower bound on the scores already stored",
    )
    parser.add_argument(
        "--recalc-sample",
        type=int,
        default=0,
        help="recalculate only this many leads and project the full time (0: all)",
    )
    parser.add_argument(
        "--decay-days-ahead",
        type=int,
        default=45,
        help="decay to this many days after now, so most leads have ticks to write",
    )
    parser.add_argument(
        "--skip-workers",
        action="store_true",
        help="leave out recalculation and preview as chunk jobs on worker processes",
    )
    args = parser.parse_args(argv)
    setup_django(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.conf import settings

    from scoring_site import embedded_redis

    redis_process = embedded_redis.start(persist=False) if settings.USING_EMBEDDED_REDIS else None
    settings.CHUNK_JOBS = "never"  # one job in this process unless a figure says otherwise
    try:
        _measure(args)
    finally:
        embedded_redis.stop(redis_process)


def _measure(args):
    ensure_dataset(leads=args.leads, events=args.events)
    print(f"\nBenchmark on {args.leads:,} leads / {args.events:,} events (PostgreSQL)")
    timed("(vacuum analyze)", vacuum_analyze)
    results = {
        "recalculation": 0
        if args.skip_recalculation
        else timed(
            "recalculation",
            (lambda: recalculate_sample(args.recalc_sample)) if args.recalc_sample else recalculate,
        ),
        "seed": timed("(seed unscored leads for decay)", seed_unscored_for_decay)
        if args.recalc_sample and not args.skip_recalculation
        else 0,
        "vacuum": timed("(vacuum analyze)", vacuum_analyze),
        "decay": timed(
            f"decay (catch-up: all leads to now + {args.decay_days_ahead} d)",
            lambda: decay(args.decay_days_ahead),
        ),
        "vacuum_again": timed("(vacuum analyze)", vacuum_analyze),
        "decay_daily": timed(
            "decay (the next day's run: the daily job)", lambda: decay(args.decay_days_ahead + 1)
        ),
        "snapshot": timed("snapshot", snapshot),
        "aggregate": timed("lower bound: SQL aggregate", lower_bound_aggregate),
        "copy": timed("lower bound: COPY of scores", lower_bound_copy),
    }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    producer_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the recalculation's stream
    bound = results["aggregate"] + results["copy"]
    if not args.skip_workers:
        for workers in (1, 2):
            results[f"recalc_{workers}w"] = timed(
                f"recalculation, chunk jobs, {workers} worker{'s' if workers > 1 else ''}",
                lambda workers=workers: recalculate_chunk_jobs(workers),
            )
            timed("(vacuum analyze)", vacuum_analyze)
        results["preview"] = timed("preview, one job", lambda: preview(0))
        results["preview_2w"] = timed("preview, chunk jobs, 2 workers", lambda: preview(2))
    timed(f"(outcome labels: 1 lead in {LABEL_EVERY})", likelihood_labels)
    timed("learning run (features, fit, holdout)", learn)
    results["likelihood"] = timed("likelihood, one process", lambda: likelihood(0))
    if not args.skip_workers:
        results["likelihood_2w"] = timed("likelihood, chunk jobs, 2 workers", lambda: likelihood(2))
    print(f"{'lower bound (aggregate + COPY)':<34} {bound:8.1f} s")
    print(f"{'peak memory (max RSS)':<34} {peak_mb:8.0f} MB   (its stream process: {producer_mb:.0f} MB)")
    ratios = {
        "recalculation, one job": results["recalculation"],
        "recalculation, chunk jobs, 1 worker": results.get("recalc_1w"),
        "recalculation, chunk jobs, 2 workers": results.get("recalc_2w"),
        "preview, one job": results.get("preview"),
        "preview, chunk jobs, 2 workers": results.get("preview_2w"),
    }
    for label, seconds in ratios.items():
        if seconds and bound:
            print(f"{label + ' / bound':<44} {seconds / bound:6.1f} ×")
    for label, key in (("likelihood, one process", "likelihood"), ("likelihood, 2 workers", "likelihood_2w")):
        if results.get(key) and results["recalculation"]:
            ratio = results[key] / results["recalculation"]
            print(f"{label + ' / recalculation, one job':<44} {ratio:6.1f} ×   (target ≤ 3 ×)")
    print(
        "targets: recalculation ≤ 4 × and preview ≤ 5 × the bound, decay's daily job ≤ 12 s, "
        "peak memory ≤ 1024 MB per process, likelihood ≤ 3 × the recalculation"
    )


if __name__ == "__main__":
    main()
