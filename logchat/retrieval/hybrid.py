"""Hybrid retrieval: full-text hits and vector neighbours, fused by reciprocal rank.

Full text finds the lines that contain the question's words and identifiers; vectors find the
templates and windows of neighbouring events that read like the question, which catches wording
the lines do not share. Each list is ranked on its own scale, so they are fused by rank, not score:
an event's fused score is the sum of ``1 / (k + rank)`` over the lists that hold it (reciprocal rank
fusion, Cormack et al. 2009, k = 60).

Vector hits are templates and windows, not lines; they are turned into events of the store that
satisfy the same filters (time range, level, host, source, process), so both lists obey the filters.
When the question names identifiers (an IP, a block id), vector events must match them as well:
a neighbour about a different IP is not evidence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logchat.retrieval import fulltext
from logchat.storage import search_repo
from logchat.storage.stats_repo import EventFilter

if TYPE_CHECKING:
    from logchat.retrieval.embeddings import TextEmbedder
    from logchat.retrieval.vector_store import VectorIndex
    from logchat.storage.db import Session

__all__ = ["HybridResult", "VectorSide", "hybrid_search", "reciprocal_rank_fusion", "vector_candidates"]

RRF_K = 60
TEMPLATE_HITS = 12
WINDOW_HITS = 6
EVENTS_PER_TEMPLATE = 3
EVENTS_PER_WINDOW = 3
# Below this cosine similarity a neighbour shares too little with the question to be worth a line.
MIN_SIMILARITY = 0.12


@dataclass
class VectorSide:
    templates: VectorIndex
    windows: VectorIndex
    embedder: TextEmbedder


@dataclass
class HybridResult:
    ranked: list[tuple[int, float]] = field(default_factory=list)  # (event id, fused score), best first
    fulltext: list[int] = field(default_factory=list)
    vector: list[int] = field(default_factory=list)
    template_scores: dict[int, float] = field(default_factory=dict)

    def retrieved_by(self, event_id: int) -> list[str]:
        found = []
        if event_id in self._fulltext_set:
            found.append("fulltext")
        if event_id in self._vector_set:
            found.append("vector")
        return found

    def __post_init__(self) -> None:
        self._fulltext_set = set(self.fulltext)
        self._vector_set = set(self.vector)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    order = 0
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            if item not in first_seen:
                first_seen[item] = order
                order += 1
    return sorted(scores.items(), key=lambda pair: (-pair[1], first_seen[pair[0]]))


def vector_candidates(
    session: Session,
    side: VectorSide,
    query_text: str,
    flt: EventFilter,
    conditions: Sequence[search_repo.Condition],
    *,
    limit: int,
    counts: search_repo.MatchCounts | None = None,
    templates: Collection[int] | None = None,
) -> tuple[list[int], dict[int, float]]:
    """Events near the question in vector space, best first, restricted by ``conditions``; and the
    similarity of each template considered. ``templates``: the only templates that can satisfy
    ``conditions`` (others are not looked up at all)."""
    if not query_text.strip() or (len(side.templates) == 0 and len(side.windows) == 0):
        return [], {}
    query = side.embedder.embed_query(query_text)
    template_hits = [(tid, s) for tid, s in side.templates.search(query, TEMPLATE_HITS) if s >= MIN_SIMILARITY]
    window_hits = [(sid, s) for sid, s in side.windows.search(query, WINDOW_HITS) if s >= MIN_SIMILARITY]
    template_scores = dict(template_hits)
    scored: list[tuple[float, int, int]] = []  # (score, order, event id)
    order = 0
    wanted = [tid for tid, _ in template_hits if templates is None or tid in templates]
    recent = search_repo.recent_events_of_templates(
        session, wanted, conditions, EVENTS_PER_TEMPLATE, counts=counts
    )
    for template_id, score in template_hits:
        for event_id in recent.get(template_id, []):
            scored.append((score, order, event_id))
            order += 1
    windows = search_repo.windows_of_signatures(session, [sid for sid, _ in window_hits], flt, 1)
    picked = [(score, window) for signature_id, score in window_hits for window in windows.get(signature_id, [])]
    contents = search_repo.events_in_windows(session, [window for _, window in picked], conditions)
    for (score, _), members in zip(picked, contents, strict=True):
        # Inside a window, the lines whose template reads most like the question come first.
        ranked = sorted(members, key=lambda m: -_template_similarity(side, query, m[1], template_scores))
        for event_id, _ in ranked[:EVENTS_PER_WINDOW]:
            # A window's own score, a little below a direct template hit of the same similarity.
            scored.append((score * 0.9, order, event_id))
            order += 1
    scored.sort(key=lambda item: (-item[0], item[1]))
    seen: set[int] = set()
    result: list[int] = []
    for _, _, event_id in scored:
        if event_id not in seen:
            seen.add(event_id)
            result.append(event_id)
        if len(result) >= limit:
            break
    return result, template_scores


def _template_similarity(side: VectorSide, query: object, template_id: int | None, cache: dict[int, float]) -> float:
    if template_id is None:
        return -1.0
    if template_id not in cache:
        vector = side.templates.reconstruct(template_id)
        cache[template_id] = float(vector @ query) if vector is not None else -1.0  # type: ignore[operator]
    return cache[template_id]


def hybrid_search(
    session: Session,
    *,
    query: fulltext.ResolvedQuery,
    query_text: str,
    flt: EventFilter,
    vectors: VectorSide | None,
    pool: int,
    restrict_to: search_repo.Condition | None = None,
    counts: search_repo.MatchCounts | None = None,
    templates: Collection[int] | None = None,
    within: Any = None,
) -> HybridResult:
    """Ranked candidate events for the question.

    Full-text hits obey the filters and the text query; vector candidates obey the filters and, when
    given, ``restrict_to`` (the matching events, used when the question names identifiers).
    ``counts``: matching and total events per template, when ``restrict_to`` reads materialised ids;
    ``templates``: the templates that have matching events (vector hits on others are skipped);
    ``within``: a SELECT of the matching ids, when they are known.
    """
    conditions = flt.conditions(session)
    text_ids = [event_id for event_id, _ in fulltext.search(session, query, conditions, pool, within=within)]
    vector_ids: list[int] = []
    template_scores: dict[int, float] = {}
    if vectors is not None and query.mode != "impossible":
        vector_conditions = [*conditions, restrict_to] if restrict_to is not None else conditions
        vector_ids, template_scores = vector_candidates(
            session, vectors, query_text, flt, vector_conditions, limit=pool,
            counts=counts if restrict_to is not None else None,
            templates=templates if restrict_to is not None else None,
        )  # fmt: skip
    fused = reciprocal_rank_fusion([text_ids, vector_ids])
    return HybridResult(ranked=fused, fulltext=text_ids, vector=vector_ids, template_scores=template_scores)
