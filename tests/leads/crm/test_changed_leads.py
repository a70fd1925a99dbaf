"""Which leads a push sends, for arbitrary score moves: exactly those the SPEC's rule names."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.crm.connectors import BatchAnswer
from leads.crm.models import LeadSync
from leads.crm.selectors import changed_leads
from leads.crm.services import _mark
from leads.models import Lead, Stage

moves = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=500, allow_nan=False),
        st.floats(min_value=-50, max_value=50, allow_nan=False),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=moves, delta=st.sampled_from([0.5, 1.0, 5.0]))
def test_changed_leads_are_those_moved_by_the_delta_or_with_a_new_stage(hubspot, moves, delta):
    LeadSync.objects.all().delete()
    Lead.objects.all().delete()
    hubspot.score_delta = delta
    leads = [
        Lead.objects.create(email=f"h{n}@example.com", score=score) for n, (score, _, _) in enumerate(moves)
    ]
    _mark(hubspot, leads, BatchAnswer(stored={lead.id for lead in leads}))
    assert changed_leads(connection=hubspot).count() == 0

    expected = set()
    for lead, (score, move, new_stage) in zip(leads, moves):
        new_score = max(0.0, score + move)
        Lead.objects.filter(pk=lead.pk).update(
            score=new_score, stage=Stage.STAGE_2 if new_stage else Stage.STAGE_1
        )
        if abs(new_score - score) >= delta or new_stage:
            expected.add(lead.id)

    assert set(changed_leads(connection=hubspot).values_list("id", flat=True)) == expected
