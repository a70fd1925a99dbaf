"""A job that rewrites every lead row (decay: a fifth of them or more) vacuums the lead table
when it ends (PostgreSQL), so the pages after a recalculation or the nightly likelihood do not
read a million dead row versions until autovacuum gets there (leads/db/bulk.py, `table_tidy`)."""

import pytest
from django.db import connection

from leads.background.decay import decay_materialise
from leads.db.bulk import table_tidy
from leads.models import Lead
from models_review.learning.services import learning_train, likelihood_score_now
from models_review.recalculation import recalculation_chunk_execute, recalculation_execute
from models_review.services import version_import
from tests.conftest import SPEC_MODEL, day
from tests.leads.bulk_data import random_leads, score_all
from tests.models_review.learning_data import labelled_history
from tests.models_review.test_recalculation import published_v2_with_leads

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")


def lead_table_vacuums() -> int:
    """Manual VACUUMs of the lead table so far (autovacuum counts apart)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [Lead._meta.db_table]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_inside_a_transaction_the_table_is_left_to_autovacuum():
    assert table_tidy(Lead) is False  # VACUUM would abort the transaction around it


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_finished_recalculation_vacuums_the_lead_table():
    _, run = published_v2_with_leads(60)
    before = lead_table_vacuums()
    run = recalculation_execute(run_id=run.pk, chunk_size=25)
    assert run.status == "done"
    assert lead_table_vacuums() == before + 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_recalculation_chunk_jobs_vacuum_once_after_the_last_chunk(settings):
    settings.CHUNK_JOBS = "always"
    _, run = published_v2_with_leads(60)
    run = recalculation_execute(run_id=run.pk, chunk_size=25)
    numbers = list(run.chunks.order_by("number").values_list("number", flat=True))
    assert len(numbers) == 3
    before = lead_table_vacuums()
    for number in numbers[:-1]:
        recalculation_chunk_execute(run_id=run.pk, number=number)
    assert lead_table_vacuums() == before  # leads still waiting for their chunk
    recalculation_chunk_execute(run_id=run.pk, number=numbers[-1])
    run.refresh_from_db()
    assert run.status == "done"
    assert lead_table_vacuums() == before + 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_likelihood_of_every_lead_vacuums_the_lead_table_after_its_last_chunk(spec_model):
    labelled_history(300, seed=4)
    learning_train(as_of=day(400))
    before = lead_table_vacuums()
    assert likelihood_score_now(as_of=day(400), chunk_size=120) == Lead.objects.count()
    assert lead_table_vacuums() == before + 1  # three chunks, one VACUUM


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_decay_catch_up_vacuums_the_lead_table_and_a_small_daily_run_does_not():
    version = version_import(data=SPEC_MODEL, publish=True)
    random_leads(300, seed=23, max_events=5)
    score_all(version)
    before = lead_table_vacuums()
    catch_up = decay_materialise(now=day(250), chunk_size=100)
    assert catch_up.leads_changed >= 0.2 * Lead.objects.count()
    assert lead_table_vacuums() == before + 1
    next_day = decay_materialise(now=day(251), chunk_size=100)
    assert next_day.leads_changed < 0.2 * Lead.objects.count()
    assert lead_table_vacuums() == before + 1
