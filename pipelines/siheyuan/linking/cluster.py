"""From scored pairs to people: constrained clustering of person records.

Why not Splink's connected components: a chain of individually plausible links can join two
people (A~B, B~C, yet A and C have different valid ID numbers), and one false merge publishes a
person's death or benefits onto another. So the clusters are built edge by edge, strongest first,
and a merge that would break a constraint is refused:

1. a steward's cannot-link decision keeps two records apart for good;
2. two different valid ID numbers never end in one cluster;
3. two records of a dataset that lists each person once (``distinct_within``: police hukou,
   health archives, hr insured) are not linked on probability alone — that is a twin, or two
   namesakes born the same month, far more often than a duplicate registration (a real duplicate
   that shares a valid ID number is still linked by the ID; a steward can must-link the rest).

Order: steward must-links, then records sharing a valid ID number (the deterministic tier; a
record whose name, birth date or sex strongly contradicts its ID — ``id_conflict`` — is held out
and queued for review instead), then probabilistic edges at or above the auto-link weight.
A record without a valid ID whose two best candidates belong to different people and score
within ``ambiguity_margin`` of each other is linked to neither: it goes to review. Pairs left in
different clusters with a weight in the review band go to review too, unless a steward has
decided them already.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: How a record came to its cluster (``resident_source_xref.link_rule``).
RULE_ID = "id_number"
RULE_PROBABILISTIC = "probabilistic"
RULE_STEWARD = "steward"
RULE_SINGLETON = "singleton"
RULE_HELD = "held_id_conflict"

#: Why a pair is in the review queue.
REVIEW_UNCERTAIN = "uncertain"  # the weight is in the review band
REVIEW_AMBIGUOUS = "ambiguous"  # two people fit this record almost equally well
REVIEW_ID_CONFLICT = "id_conflict"  # the record contradicts the ID number it carries


@dataclass(frozen=True)
class Thresholds:
    """Match-weight thresholds (log2 Bayes factors, Splink's ``match_weight``)."""

    auto_link_weight: float
    review_weight: float
    ambiguity_margin: float
    distinct_within: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Record:
    link_id: int
    dataset: str
    key: str
    id_number: str | None
    id_conflict: bool = False


@dataclass(frozen=True)
class Pair:
    left: int
    right: int
    match_weight: float


@dataclass(frozen=True)
class Decision:
    left: int
    right: int
    must_link: bool


@dataclass
class Assignment:
    """Where one record ended: its cluster root and how it was attached."""

    cluster: int  # link_id of the cluster's representative record
    rule: str
    linked_to: int | None = None  # the record whose edge attached it (None: ID group / alone)
    link_weight: float | None = None


@dataclass(frozen=True)
class ReviewItem:
    left: int
    right: int
    reason: str
    match_weight: float | None


@dataclass
class Clustering:
    assignments: dict[int, Assignment]
    review: list[ReviewItem]
    refused: int = 0  # strong edges a constraint refused
    conflicts: list[tuple[int, int]] = field(default_factory=list)  # must-links refused


class _Components:
    """Union-find whose roots carry what the constraints need."""

    def __init__(self, records: Sequence[Record], distinct_within: frozenset[str]) -> None:
        self.parent = {r.link_id: r.link_id for r in records}
        self.ids: dict[int, set[str]] = {}
        self.distinct: dict[int, set[str]] = {}
        self.apart: dict[int, set[int]] = defaultdict(set)  # root -> records it cannot join
        for r in records:
            self.ids[r.link_id] = {r.id_number} if r.id_number and not r.id_conflict else set()
            self.distinct[r.link_id] = {r.dataset} if r.dataset in distinct_within else set()

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def members_apart(self, ra: int, rb: int) -> bool:
        return any(self.find(x) == rb for x in self.apart.get(ra, ())) or any(
            self.find(x) == ra for x in self.apart.get(rb, ())
        )

    def allowed(self, a: int, b: int, *, by_id: bool = False, by_steward: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.members_apart(ra, rb):
            return False
        if self.ids[ra] and self.ids[rb] and self.ids[ra] != self.ids[rb]:
            return False
        # one record per person of a distinct_within dataset, unless an ID or a steward says so
        return by_id or by_steward or not (self.distinct[ra] & self.distinct[rb])

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.ids[ra] |= self.ids.pop(rb)
        self.distinct[ra] |= self.distinct.pop(rb)
        moved = self.apart.pop(rb, set())
        if moved:
            self.apart[ra] |= moved


def cluster(
    records: Sequence[Record],
    pairs: Iterable[Pair],
    decisions: Iterable[Decision],
    thresholds: Thresholds,
) -> Clustering:
    """Cluster ``records`` with the constraints and order described in the module docstring."""
    comps = _Components(records, thresholds.distinct_within)
    by_id = {r.link_id: r for r in records}
    rule: dict[int, str] = {}
    linked: dict[int, tuple[int, float | None]] = {}
    review: list[ReviewItem] = []
    conflicts: list[tuple[int, int]] = []
    decided: set[tuple[int, int]] = set()

    # 1. steward decisions: cannot-links first (they constrain everything after), then must-links
    decisions = [d for d in decisions if d.left in by_id and d.right in by_id]
    for d in decisions:
        decided.add(_ordered(d.left, d.right))
        if not d.must_link:
            comps.apart[d.left].add(d.right)
            comps.apart[d.right].add(d.left)
    for d in decisions:
        if d.must_link:
            if comps.allowed(d.left, d.right, by_steward=True):
                comps.union(d.left, d.right)
                for x in (d.left, d.right):
                    rule.setdefault(x, RULE_STEWARD)
                linked.setdefault(d.right, (d.left, None))
            else:
                conflicts.append((d.left, d.right))

    # 2. the deterministic tier: records sharing a valid ID number
    first_of_id: dict[str, int] = {}
    for r in sorted(records, key=lambda r: r.link_id):
        if not r.id_number:
            continue
        if r.id_conflict:
            rule.setdefault(r.link_id, RULE_HELD)
            continue
        head = first_of_id.setdefault(r.id_number, r.link_id)
        if head != r.link_id and comps.allowed(head, r.link_id, by_id=True):
            comps.union(head, r.link_id)
            rule.setdefault(head, RULE_ID)
            rule.setdefault(r.link_id, RULE_ID)
    for r in records:  # a held record: queue it beside the ID's other records
        if r.id_conflict and r.id_number in first_of_id:
            other = first_of_id[r.id_number]
            if _ordered(r.link_id, other) not in decided:
                review.append(ReviewItem(*_ordered(r.link_id, other), REVIEW_ID_CONFLICT, None))

    # 3. probabilistic edges, strongest first
    pairs = sorted(pairs, key=lambda p: (-p.match_weight, p.left, p.right))
    strong = [p for p in pairs if p.match_weight >= thresholds.auto_link_weight]
    ambiguous = _ambiguous_edges(strong, comps, by_id, thresholds.ambiguity_margin)
    refused = 0
    for p in strong:
        key = _ordered(p.left, p.right)
        if key in decided:
            continue
        if key in ambiguous:
            if comps.find(p.left) != comps.find(p.right):
                review.append(ReviewItem(*key, REVIEW_AMBIGUOUS, p.match_weight))
            continue
        if comps.find(p.left) == comps.find(p.right):
            continue
        if comps.allowed(p.left, p.right):
            comps.union(p.left, p.right)
            for x in (p.left, p.right):
                rule.setdefault(x, RULE_PROBABILISTIC)
            # the edge explains the side that joined by it: a record whose rule it set (not
            # one the ID tier or a steward had already placed), right side first
            fresh = [
                x for x in (p.right, p.left) if rule[x] == RULE_PROBABILISTIC and x not in linked
            ]
            attach = fresh[0] if fresh else (p.right if p.right not in linked else p.left)
            linked.setdefault(attach, (p.left if attach == p.right else p.right, p.match_weight))
        else:
            # expected for a record already linked to its best match (the runner-up is
            # another person); counted, not queued: the ambiguous cases were queued above
            refused += 1

    # 4. the review band: pairs left apart
    for p in pairs:
        if thresholds.review_weight <= p.match_weight < thresholds.auto_link_weight:
            key = _ordered(p.left, p.right)
            if key not in decided and comps.find(p.left) != comps.find(p.right):
                review.append(ReviewItem(*key, REVIEW_UNCERTAIN, p.match_weight))

    assignments = {}
    for r in records:
        root = comps.find(r.link_id)
        how = rule.get(r.link_id, RULE_SINGLETON)
        if how == RULE_HELD and comps.find(r.link_id) != r.link_id:
            how = RULE_STEWARD  # a steward must-linked the held record
        other, weight = linked.get(r.link_id, (None, None))
        assignments[r.link_id] = Assignment(root, how, other, weight)
    # a record that is alone in its cluster is a singleton, whatever edge it was offered
    sizes: dict[int, int] = defaultdict(int)
    for a in assignments.values():
        sizes[a.cluster] += 1
    for lid, a in assignments.items():
        if sizes[a.cluster] == 1 and a.rule != RULE_HELD:
            assignments[lid] = Assignment(a.cluster, RULE_SINGLETON)
    return Clustering(assignments, _unique(review), refused, conflicts)


def _ambiguous_edges(
    strong: Sequence[Pair], comps: _Components, records: dict[int, Record], margin: float
) -> set[tuple[int, int]]:
    """Edges of records without a valid ID whose two best clusters score within ``margin``.

    Judged on the clusters the ID tier made: a record that fits two people (twins, namesakes in
    one building) almost equally well is linked to neither. Two candidates that are themselves
    a strong, allowed match are not two people but one seen twice (a floating resident's ended
    registration and the new one that replaced it, both fitting the same health archive): the
    record is not ambiguous between them.
    """
    between: set[tuple[int, int]] = set()  # clusters joined by a strong edge
    for p in strong:
        a, b = comps.find(p.left), comps.find(p.right)
        if a != b:
            between.add(_ordered(a, b))
    best: dict[int, dict[int, float]] = defaultdict(dict)
    for p in strong:
        for me, other in ((p.left, p.right), (p.right, p.left)):
            if records[me].id_number and not records[me].id_conflict:
                continue
            target = comps.find(other)
            if target == comps.find(me):
                continue
            if p.match_weight > best[me].get(target, float("-inf")):
                best[me][target] = p.match_weight
    edges: dict[int, list[Pair]] = defaultdict(list)
    for p in strong:
        edges[p.left].append(p)
        edges[p.right].append(p)
    out: set[tuple[int, int]] = set()
    for me, targets in best.items():
        if len(targets) < 2:
            continue
        ranked = sorted(targets.values(), reverse=True)
        if ranked[0] - ranked[1] >= margin:
            continue
        near = {t for t, w in targets.items() if ranked[0] - w < margin}
        if _one_person(sorted(near), between, comps):
            continue
        for p in edges[me]:
            other = p.right if p.left == me else p.left
            if comps.find(other) in near:
                out.add(_ordered(p.left, p.right))
    return out


def _one_person(clusters: list[int], between: set[tuple[int, int]], comps: _Components) -> bool:
    """Every two of these clusters match strongly and may be merged: they are one person."""
    return all(
        _ordered(a, b) in between and comps.allowed(a, b)
        for i, a in enumerate(clusters)
        for b in clusters[i + 1 :]
    )


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _unique(items: list[ReviewItem]) -> list[ReviewItem]:
    seen: dict[tuple[int, int], ReviewItem] = {}
    for item in items:
        seen.setdefault((item.left, item.right), item)
    return list(seen.values())
