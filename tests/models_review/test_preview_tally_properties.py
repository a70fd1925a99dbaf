"""The preview's tallies are summed chunk by chunk: however the leads are split into chunks,
the merged counts and ratios are those of one pass over all of them (hypothesis)."""

import json

from hypothesis import given
from hypothesis import strategies as st

from models_review.preview import Judgement, Tally

THRESHOLDS = {"active": 100.0, "draft": 100.0}
leads = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=400, allow_nan=False),  # live score
        st.floats(min_value=0, max_value=400, allow_nan=False),  # draft score
        st.none() | st.booleans(),  # the rep's "really sales-ready"
        st.sampled_from(["", "opportunity", "won", "lost"]),
        st.none() | st.booleans(),  # a held-out label, positive or not
    ),
    max_size=60,
)


def _tally(rows) -> Tally:
    tally = Tally()
    for number, (live, draft, really, outcome, held) in enumerate(rows, start=1):
        lead = {"id": number, "stage": 1, "name": "", "email": ""}
        judgement = Judgement(really, outcome) if really is not None or outcome else None
        tally.add(lead, {"active": (live, 1), "draft": (draft, 1)}, THRESHOLDS, judgement, held)
    return tally


@given(rows=leads, cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=5))
def test_merged_chunk_tallies_equal_one_pass(rows, cuts):
    bounds = sorted({0, len(rows), *(cut for cut in cuts if cut <= len(rows))})
    merged = Tally()
    for start, end in zip(bounds, bounds[1:]):
        # Partials are stored as JSON between chunk jobs.
        merged.merge(json.loads(json.dumps(_tally(rows[start:end]).partial())))
    whole = _tally(rows).result(THRESHOLDS)
    split = merged.result(THRESHOLDS)
    for key in ("holdout", "agreement", "sales_ready", "gain_count", "loss_count", "buckets"):
        assert split[key] == whole[key]


@given(rows=leads)
def test_holdout_ratios_are_shares_of_their_counts(rows):
    for counts in _tally(rows).result(THRESHOLDS)["holdout"].values():
        marked = counts["marked_of_positive"] + counts["marked_of_negative"]
        assert counts["labels"] == counts["positive"] + counts["negative"]
        assert (counts["precision"] is None) == (marked == 0)
        assert (counts["recall"] is None) == (counts["positive"] == 0)
        if counts["labels"]:
            right = counts["marked_of_positive"] + counts["negative"] - counts["marked_of_negative"]
            assert counts["accuracy"] == right / counts["labels"]
            assert 0 <= counts["accuracy"] <= 1
