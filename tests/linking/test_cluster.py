"""The constrained clustering: each tier, each constraint, review reasons, steward decisions."""

from __future__ import annotations

import random

from siheyuan.linking.cluster import (
    REVIEW_AMBIGUOUS,
    REVIEW_ID_CONFLICT,
    REVIEW_UNCERTAIN,
    RULE_HELD,
    RULE_ID,
    RULE_PROBABILISTIC,
    RULE_SINGLETON,
    RULE_STEWARD,
    Decision,
    Pair,
    Record,
    Thresholds,
    cluster,
)

TH = Thresholds(
    auto_link_weight=10.0,
    review_weight=3.0,
    ambiguity_margin=4.0,
    distinct_within=frozenset({"police_hukou", "health_records"}),
)
ID_A = "330106199001011234"
ID_B = "330106199001015678"


def _rec(link_id: int, dataset: str, id_number: str | None = None, conflict: bool = False):
    return Record(link_id, dataset, f"k{link_id}", id_number, conflict)


def _together(result, a: int, b: int) -> bool:
    return result.assignments[a].cluster == result.assignments[b].cluster


def test_records_sharing_a_valid_id_link_deterministically_without_any_pair():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "hr_insured", ID_A), _rec(3, "hr_insured", ID_B)]
    result = cluster(recs, [], [], TH)
    assert _together(result, 1, 2)
    assert not _together(result, 1, 3)
    assert result.assignments[1].rule == RULE_ID and result.assignments[2].rule == RULE_ID
    assert result.assignments[3].rule == RULE_SINGLETON


def test_a_strong_pair_links_a_record_without_id_probabilistically():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "police_floating")]
    result = cluster(recs, [Pair(1, 2, 18.0)], [], TH)
    assert _together(result, 1, 2)
    assert result.assignments[2].rule == RULE_PROBABILISTIC
    assert result.assignments[2].linked_to == 1 and result.assignments[2].link_weight == 18.0
    assert result.review == []


def test_the_edge_is_recorded_on_the_record_it_linked_not_on_an_id_linked_one():
    # the record without an ID has the lower link_id: the ID tier already placed 2 and 3, so
    # the waterfall that explains record 1 must hang on record 1
    recs = [_rec(1, "health_records"), _rec(2, "hr_insured", ID_A), _rec(3, "police_hukou", ID_A)]
    result = cluster(recs, [Pair(1, 2, 18.0)], [], TH)
    assert _together(result, 1, 3)
    assert result.assignments[1].rule == RULE_PROBABILISTIC
    assert result.assignments[1].linked_to == 2 and result.assignments[1].link_weight == 18.0
    assert result.assignments[2].rule == RULE_ID and result.assignments[2].linked_to is None


def test_a_chain_never_joins_two_valid_id_numbers():
    # X fits A strongly and B a little less (outside the ambiguity margin): X joins A, and the
    # edge X~B is refused because it would put ID_A and ID_B in one cluster
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "police_floating"), _rec(3, "hr_insured", ID_B)]
    result = cluster(recs, [Pair(1, 2, 20.0), Pair(2, 3, 12.0)], [], TH)
    assert _together(result, 1, 2)
    assert not _together(result, 1, 3)
    assert result.refused == 1


def test_a_record_two_people_fit_almost_equally_is_linked_to_neither_and_queued():
    # twins: a health record without ID fits both hukou records within the margin
    recs = [
        _rec(1, "police_hukou", ID_A),
        _rec(2, "police_hukou", ID_B),
        _rec(3, "health_records"),
    ]
    result = cluster(recs, [Pair(1, 3, 15.0), Pair(2, 3, 13.0)], [], TH)
    assert result.assignments[3].rule == RULE_SINGLETON
    assert not _together(result, 1, 3) and not _together(result, 2, 3)
    reasons = {(r.left, r.right): r.reason for r in result.review}
    assert reasons == {(1, 3): REVIEW_AMBIGUOUS, (2, 3): REVIEW_AMBIGUOUS}


def test_two_candidates_that_are_one_person_do_not_make_a_record_ambiguous():
    # a floating resident re-registered under a new key: the ended and the new registration
    # match each other as well as the health archive matches either; one person, all linked
    recs = [_rec(1, "health_records"), _rec(2, "police_floating"), _rec(3, "police_floating")]
    pairs = [Pair(1, 2, 40.7), Pair(1, 3, 40.7), Pair(2, 3, 40.7)]
    result = cluster(recs, pairs, [], TH)
    assert _together(result, 1, 2) and _together(result, 1, 3)
    assert result.review == []


def test_two_candidates_that_may_not_merge_still_make_a_record_ambiguous():
    # the health record of an under-6 fits both twins' hukou records, which match each other
    # strongly on everything but carry two valid ID numbers: still two people
    recs = [_rec(1, "health_records"), _rec(2, "police_hukou", ID_A), _rec(3, "police_hukou", ID_B)]
    pairs = [Pair(1, 2, 30.0), Pair(1, 3, 29.0), Pair(2, 3, 25.0)]
    result = cluster(recs, pairs, [], TH)
    assert not _together(result, 1, 2) and not _together(result, 1, 3)
    assert {r.reason for r in result.review} == {REVIEW_AMBIGUOUS}


def test_two_records_of_a_dataset_listing_each_person_once_are_not_linked_on_probability():
    # two health archives without ID numbers (twins with near-identical names) stay apart ...
    recs = [_rec(1, "health_records"), _rec(2, "health_records"), _rec(3, "police_floating")]
    result = cluster(recs, [Pair(1, 2, 25.0)], [], TH)
    assert not _together(result, 1, 2)
    # ... while a dataset not listed (floating registrations can be duplicated) links
    result = cluster(recs, [Pair(1, 3, 25.0)], [], TH)
    assert _together(result, 1, 3)


def test_the_constraint_holds_through_a_third_record():
    # health 1 ~ floating 3 ~ health 2 (a clear second): once 1 and 3 are one person, 2 may
    # not join them
    recs = [_rec(1, "health_records"), _rec(2, "health_records"), _rec(3, "police_floating")]
    result = cluster(recs, [Pair(1, 3, 25.0), Pair(2, 3, 14.0)], [], TH)
    assert _together(result, 1, 3)
    assert not _together(result, 2, 3)


def test_the_review_band_queues_pairs_left_apart_and_drops_weak_ones():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "police_floating"), _rec(3, "police_floating")]
    result = cluster(recs, [Pair(1, 2, 6.0), Pair(1, 3, 1.0)], [], TH)
    assert not _together(result, 1, 2)
    assert [(r.left, r.right, r.reason) for r in result.review] == [(1, 2, REVIEW_UNCERTAIN)]


def test_a_pair_in_the_band_that_ends_in_one_cluster_anyway_is_not_queued():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "hr_insured", ID_A), _rec(3, "police_floating")]
    result = cluster(recs, [Pair(1, 3, 20.0), Pair(2, 3, 5.0)], [], TH)
    assert _together(result, 2, 3)
    assert result.review == []


def test_a_steward_must_link_merges_an_uncertain_pair_and_it_is_not_queued_again():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "police_floating")]
    result = cluster(recs, [Pair(1, 2, 6.0)], [Decision(1, 2, must_link=True)], TH)
    assert _together(result, 1, 2)
    assert result.assignments[2].rule == RULE_STEWARD
    assert result.review == []


def test_a_steward_cannot_link_beats_a_strong_pair_and_a_shared_id():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "police_floating"), _rec(3, "hr_insured", ID_A)]
    decisions = [Decision(1, 2, must_link=False), Decision(1, 3, must_link=False)]
    result = cluster(recs, [Pair(1, 2, 30.0)], decisions, TH)
    assert not _together(result, 1, 2)
    assert not _together(result, 1, 3)
    assert result.review == []


def test_cannot_link_is_kept_after_either_side_merges_with_others():
    # 1 ~ 3 strongly, 2 ~ 3 strongly, but a steward said 1 and 2 are two people
    recs = [_rec(1, "police_floating"), _rec(2, "police_floating"), _rec(3, "police_floating")]
    result = cluster(
        recs, [Pair(1, 3, 30.0), Pair(2, 3, 20.0)], [Decision(1, 2, must_link=False)], TH
    )
    assert _together(result, 1, 3)
    assert not _together(result, 1, 2)


def test_a_steward_cannot_must_link_two_valid_id_numbers():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "hr_insured", ID_B)]
    result = cluster(recs, [], [Decision(1, 2, must_link=True)], TH)
    assert not _together(result, 1, 2)
    assert result.conflicts == [(1, 2)]


def test_a_record_contradicting_its_id_is_held_out_and_queued():
    recs = [_rec(1, "police_hukou", ID_A), _rec(2, "health_records", ID_A, conflict=True)]
    result = cluster(recs, [], [], TH)
    assert not _together(result, 1, 2)
    assert result.assignments[2].rule == RULE_HELD
    assert [(r.left, r.right, r.reason) for r in result.review] == [(1, 2, REVIEW_ID_CONFLICT)]
    # a steward who confirms it links it; the item leaves the queue
    result = cluster(recs, [], [Decision(1, 2, must_link=True)], TH)
    assert _together(result, 1, 2)
    assert result.assignments[2].rule == RULE_STEWARD
    assert result.review == []


def test_the_result_does_not_depend_on_input_order():
    recs = [_rec(i, "police_floating") for i in range(1, 9)] + [
        _rec(9, "police_hukou", ID_A),
        _rec(10, "police_hukou", ID_B),
    ]
    pairs = [
        Pair(1, 9, 20.0),
        Pair(2, 9, 18.0),
        Pair(2, 10, 17.0),
        Pair(3, 10, 12.0),
        Pair(3, 4, 11.0),
        Pair(5, 6, 7.0),
        Pair(7, 8, 15.0),
        Pair(7, 9, 15.0),
    ]
    expected = cluster(recs, pairs, [], TH)
    rng = random.Random(3)
    for _ in range(5):
        r, p = recs[:], pairs[:]
        rng.shuffle(r)
        rng.shuffle(p)
        got = cluster(r, p, [], TH)
        assert got.assignments == expected.assignments
        assert sorted(got.review, key=str) == sorted(expected.review, key=str)
