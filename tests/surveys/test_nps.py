import pytest

from surveys.nps import NpsSummary, nps_group, parse_score, summarize, summary_from_distribution


def test_nps_spec_example_counts_groups_and_score():
    summary = summarize([10, 10, 9, 9, 9, 8, 7, 6, 3, 0])
    assert (summary.promoters, summary.passives, summary.detractors) == (5, 2, 3)
    assert summary.nps == pytest.approx(20.0)
    assert summary.label == "+20"
    assert summary.promoter_percent == pytest.approx(50.0)
    assert summary.detractor_percent == pytest.approx(30.0)


def test_nps_no_answers_is_no_data_not_zero():
    summary = summarize([])
    assert summary.nps is None
    assert summary.label == "no data"
    assert summary.promoter_percent is None
    assert not summary.has_data


def test_nps_extremes_are_plus_and_minus_hundred():
    assert summarize([9, 10]).nps == 100
    assert summarize([0, 6]).nps == -100
    assert summarize([0, 6]).label == "-100"


def test_nps_group_boundaries():
    assert [nps_group(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]


def test_nps_summary_from_distribution_matches_list():
    assert summary_from_distribution({10: 2, 9: 3, 8: 1, 7: 1, 6: 1, 3: 1, 0: 1}) == NpsSummary(5, 2, 3)


@pytest.mark.parametrize("raw", ["11", "-1", "7.5", "", " ", None, "abc", "٣", "1e1"])
def test_parse_score_refuses_anything_but_0_to_10(raw):
    with pytest.raises(ValueError):
        parse_score(raw)


@pytest.mark.parametrize("raw,expected", [("0", 0), ("10", 10), (" 9 ", 9)])
def test_parse_score_accepts_whole_numbers_0_to_10(raw, expected):
    assert parse_score(raw) == expected
