"""The tracking API under ≥ 200 events/s for 2 minutes, served by a
real gunicorn, with two RQ worker processes, while one worker is SIGKILLed and restarted and
Redis is restarted once, and new model versions are published (recalculations) and the
qualification / outbox / watchdog jobs are enqueued as the scheduler would. At the end:
events sent = events stored = events scored, every queue drained, and every lead's scores
equal a replay of its events. Duration and rate can be lowered with LOAD_SECONDS /
LOAD_EVENTS_PER_SECOND for a quick local check."""

import copy
import itertools
import os
import random
import signal
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone
from rq.job import Job

from leads.ingest import credentials, rate_limit
from leads.models import Event, Lead, OutboxJob, ProductScore
from leads.services import active_version
from models_review.models import RecalculationRun
from models_review.recalculation import STALE_AFTER
from models_review.services import version_import
from scoring_site.queueing import enqueue_or_outbox, queue
from tests.conftest import SPEC_MODEL
from tests.faults import processes
from tests.models_review.test_recalculation_kill import uninterrupted_result
from tests.redis_fixtures import QUEUE_NAMES

SECONDS = float(os.environ.get("LOAD_SECONDS", 120))
RATE = int(os.environ.get("LOAD_EVENTS_PER_SECOND", 250))
BATCH = 25  # messages per /batch request
SENDERS = 4
USERS = 1500
SCHEDULER_EVERY = 5.0  # seconds between the "cron" enqueues (the real schedule is minutes)
TRACKED = (  # (Segment event, properties) → form_submit, video_play, custom "Trial Started"
    ("Form Submitted", {}),
    ("Video Watched", {"percent": 80}),
    ("Trial Started", {}),
)


def versions():
    """Model variants published during the run, each starting a recalculation of every lead."""
    second, third = copy.deepcopy(SPEC_MODEL), copy.deepcopy(SPEC_MODEL)
    second.update(note="Forms matter more", sales_ready_score=80)
    second["rules"][4]["points"] = 40
    third.update(note="Trials matter more", sales_ready_score=120)
    third["rules"][5]["points"] = 45
    return second, third


class Sender:
    """Paced /batch requests from a few threads; a request that fails at the transport level is
    retried with the same messageIds, as Segment's clients do."""

    def __init__(self, base_url: str, write_key: str):
        self.url, self.auth = f"{base_url}/api/v1/batch", (write_key, "")
        self.sent_ids, self.statuses, self.retries = set(), defaultdict(int), 0
        self.lock = threading.Lock()
        self.rng = random.Random(8)

    def batches(self, total: int):
        for _ in range(total):
            yield [self.message() for _ in range(BATCH)]

    def message(self) -> dict:
        user = f"user-{self.rng.randrange(USERS)}"
        if self.rng.random() < 0.2:
            return {
                "type": "page",
                "userId": user,
                "messageId": str(uuid.uuid4()),
                "name": "Careers",
                "properties": {"url": "https://example.com/careers/engineer"},
            }
        name, properties = self.rng.choice(TRACKED)
        return {
            "type": "track",
            "userId": user,
            "messageId": str(uuid.uuid4()),
            "event": name,
            "properties": dict(properties),
        }

    def send(self, batch: list[dict]) -> None:
        session = requests.Session()
        for _ in range(20):
            try:
                response = session.post(self.url, json={"batch": batch}, auth=self.auth, timeout=30)
            except requests.RequestException:
                with self.lock:
                    self.retries += 1
                time.sleep(0.5)
                continue
            with self.lock:
                self.statuses[response.status_code] += 1
                if response.status_code == 200 and not response.json().get("rejected"):
                    self.sent_ids.update(m["messageId"] for m in batch)
            return


def run_paced(sender: Sender, seconds: float, rate: int, tick) -> float:
    """Send rate·seconds messages, each batch at its slot; `tick` runs between slots in this
    thread (faults, scheduler). Returns the achieved rate."""
    total_batches = int(seconds * rate / BATCH)
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        futures = []
        for index, batch in enumerate(sender.batches(total_batches)):
            slot = started + index * BATCH / rate
            while (wait := slot - time.monotonic()) > 0:
                tick(time.monotonic() - started)
                time.sleep(min(wait, 0.05))
            futures.append(pool.submit(sender.send, batch))
        for future in futures:
            future.result()
    return total_batches * BATCH / (time.monotonic() - started)


class Faults:
    """The timeline: publish, kill a worker, restart it, publish, restart Redis; plus the
    periodic jobs the scheduler would enqueue."""

    def __init__(self, own_redis, workers, seconds):
        self.redis, self.workers, self.seconds = own_redis, workers, seconds
        self.pending = sorted(
            [
                (0.30 * seconds, "publish", 0),
                (0.40 * seconds, "kill", 0),
                (0.45 * seconds, "restart worker", 0),
                (0.52 * seconds, "publish", 1),
                (0.55 * seconds, "restart redis", 0),
            ]
        )
        self.next_schedule, self.log, self.versions, self.exits = 0.0, [], versions(), []
        self.killed = set()

    def __call__(self, elapsed: float) -> None:
        self.supervise()
        while self.pending and self.pending[0][0] <= elapsed:
            _, action, argument = self.pending.pop(0)
            getattr(self, action.replace(" ", "_"))(argument)
            self.log.append(f"{elapsed:6.1f}s {action}")
        if elapsed >= self.next_schedule:
            self.next_schedule = elapsed + SCHEDULER_EVERY
            enqueue_periodic()

    def supervise(self) -> None:
        """Restart a worker that exited, as systemd (Restart=always) or supervisord would. RQ's
        worker quits on a Redis error outside its dequeue loop (e.g. Redis restarting while a
        job finishes) and relies on its supervisor for that."""
        for index, worker in enumerate(self.workers):
            if index not in self.killed and worker.poll() is not None:
                self.exits.append(f"{worker.args[-1]} exited with {worker.returncode}")
                self.workers[index] = processes.start_worker(
                    self.redis.url, f"load-{index}-{len(self.exits)}"
                )

    def publish(self, index):
        version_import(data=self.versions[index], publish=True)

    def kill(self, index):
        self.killed.add(index)
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(timeout=10)

    def restart_worker(self, index):
        self.killed.discard(index)
        self.workers[index] = processes.start_worker(self.redis.url, f"load-{index}-restarted")

    def restart_redis(self, _):
        self.redis.restart()


def enqueue_periodic(at=None) -> None:
    # Through the outbox, as scoring_site.cron does: while Redis is down these wait in the
    # database and the next outbox sweep moves them.
    with transaction.atomic():
        enqueue_or_outbox(
            "default", "leads.background.jobs.qualification_evaluate", reference="load:qualification"
        )
        enqueue_or_outbox("default", "leads.background.jobs.outbox_sweep", reference="load:outbox")
        enqueue_or_outbox(
            "default",
            "models_review.jobs.recalculations_resume_stale",
            reference="load:watchdog",
            **({"at": at} if at else {}),
        )


def drained() -> bool:
    queues = [queue(name) for name in QUEUE_NAMES]
    return (
        not OutboxJob.objects.filter(sent_at__isnull=True).exists()
        and not RecalculationRun.objects.exclude(status=RecalculationRun.Status.DONE).exists()
        and all(q.count == 0 for q in queues)
        and all(not _live_started(q) for q in queues)
    )


def _live_started(q) -> list[str]:
    """Started jobs whose worker is still alive (a SIGKILLed worker's job stays listed until
    RQ's registry cleanup; the recalculation watchdog is what resumes its work)."""
    return [job_id for job_id in q.started_job_registry.get_job_ids() if _job_is_live(q, job_id)]


def _job_is_live(q, job_id) -> bool:
    from rq import Worker

    busy = {worker.get_current_job_id() for worker in Worker.all(connection=q.connection)}
    return job_id in busy


def wait_for_drain(faults: Faults, timeout: float = 90) -> bool:
    """Wait for the workers to finish everything; a recalculation stuck on the killed worker
    is resumed by the watchdog, whose 10-minute stale period is brought forward here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        faults.supervise()
        if drained():
            return True
        stuck = RecalculationRun.objects.filter(
            status=RecalculationRun.Status.RUNNING, updated_at__lt=timezone.now() - timedelta(seconds=10)
        )
        if stuck.exists():
            enqueue_periodic(at=(timezone.now() + STALE_AFTER).isoformat())
        else:
            enqueue_periodic()
        time.sleep(2)
    return drained()


def longest_queue_wait() -> tuple[float, int]:
    """Longest enqueued → started wait over every job the workers ran, and how many ran."""
    longest, count = 0.0, 0
    for q in (queue(name) for name in QUEUE_NAMES):
        ids = q.finished_job_registry.get_job_ids() + q.failed_job_registry.get_job_ids()
        for job in Job.fetch_many(ids, connection=q.connection):
            if job and job.enqueued_at and job.started_at:
                longest, count = max(longest, (job.started_at - job.enqueued_at).total_seconds()), count + 1
    return longest, count


def stored_scores() -> dict:
    products = defaultdict(dict)
    for lead_id, line, score in ProductScore.objects.values_list("lead_id", "product_line__name", "score"):
        products[lead_id][line] = score
    return {
        pk: (score, stage, products[pk])
        for pk, score, stage in Lead.objects.values_list("pk", "score", "stage")
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_load_with_worker_kill_and_redis_restart_loses_nothing(settings, capsys):
    own_redis = processes.OwnRedis()
    own_redis.start()
    settings.RQ_QUEUES = {name: {"URL": own_redis.url, "DEFAULT_TIMEOUT": 3600} for name in QUEUE_NAMES}
    rate_limit.reset()
    version_import(data=SPEC_MODEL, publish=True)
    _, write_key = credentials.write_key_create(name="Load test")
    port = processes.free_port()
    web = workers = None
    try:
        web = processes.start_gunicorn(own_redis.url, port)
        workers = [processes.start_worker(own_redis.url, f"load-{n}") for n in range(2)]
        sender, faults = Sender(f"http://127.0.0.1:{port}", write_key), Faults(own_redis, workers, SECONDS)
        achieved = run_paced(sender, SECONDS, RATE, faults)
        drained_in_time = wait_for_drain(faults)
        longest_wait, jobs_run = longest_queue_wait()
    finally:
        for process in itertools.chain([web], workers or []):
            processes.end(process)
        own_redis.close()

    stored = Event.objects.count()
    scored_leads = Lead.objects.filter(events__isnull=False).distinct().count()
    unidentified = Event.objects.filter(lead__isnull=True).count()
    expected = {
        pk: (state.sales.score, state.stage, {name: s.score for name, s in state.products.items()})
        for pk, state in uninterrupted_result(active_version(), timezone.now()).items()
    }
    actual = stored_scores()
    mismatched = sorted(pk for pk in expected if expected[pk] != actual[pk])
    with capsys.disabled():
        print(
            f"\nload: {len(sender.sent_ids):,} events sent at {achieved:,.0f}/s over {SECONDS:.0f}s, "
            f"{stored:,} stored, {scored_leads:,} leads scored, {len(mismatched)} scores differ from replay; "
            f"responses {dict(sender.statuses)}, transport retries {sender.retries}; "
            f"{jobs_run} jobs run, longest queue wait {longest_wait:.2f}s; "
            f"{RecalculationRun.objects.count()} recalculations; faults: {'; '.join(faults.log)}; "
            f"workers restarted by the supervisor: {'; '.join(faults.exits) or 'none'}"
        )
    assert achieved >= 200 * min(1.0, RATE / 250)
    assert len(faults.log) == 5
    assert set(sender.statuses) == {200}
    assert len(sender.sent_ids) == int(SECONDS * RATE / BATCH) * BATCH == stored
    assert set(Event.objects.values_list("idempotency_key", flat=True)) == sender.sent_ids
    assert unidentified == 0
    assert drained_in_time, "queues did not drain"
    assert (
        RecalculationRun.objects.filter(status=RecalculationRun.Status.DONE).count() == 2
    )  # one per publish
    assert mismatched == [], f"{len(mismatched)} leads differ from a replay, e.g. {mismatched[:5]}"
