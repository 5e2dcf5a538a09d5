"""Template mining with Drain3, made fast by masking in one pass and caching masked shapes.

Drain3's own masker runs one regex per instruction over every line, and its tree search runs for
every line, even for the millionth copy of the same shape. Here variables are masked by one
combined regex, and each distinct masked shape is searched in the tree once: repeats cost a dict
lookup. The Drain state is saved into the store with each batch, as JSON (never pickle: the row may live in
a shared database), so template ids are stable across runs and consistent with the events that
reference them.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from logchat.ingest.digit_keys import (
    DIGIT_KEY,
    VARYING_UNDER_DIGIT_KEY,
    VARYING_UNDER_SHARED_KEY,
    zeros_inside_numbers_blind,
)

# Order matters: the first alternative that matches at a position wins.
_MASKS: tuple[tuple[str, str], ...] = (
    ("UUID", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    ("IP", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?"),
    ("HEX", r"0[xX][0-9a-fA-F]+"),
    ("PATH", r"(?:[A-Za-z]:)?(?:[/\\][\w.\-$~]+){2,}[/\\]?"),
    ("ID", r"(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}"),
    ("NUM", r"[-+]?\d+(?:[.,:]\d+)*"),
)
MASK_NAMES: tuple[str, ...] = tuple(name for name, _ in _MASKS)
_BOUNDARY_BEFORE = r"(?<![A-Za-z0-9])"
_BOUNDARY_AFTER = r"(?![A-Za-z0-9])"
# Every mask starts with one of these characters: positions at any other one (spaces, quotes, brackets) are let
# go by one test instead of a try of each mask, a third of the time of masking a line.
_MASK_START = r"(?=[\dA-Za-z+\-/\\])"
MASK_RE = re.compile(
    _MASK_START + _BOUNDARY_BEFORE + "(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _MASKS) + ")"
    + _BOUNDARY_AFTER
)
_PLACEHOLDER = {name: f"<{name}>" for name in MASK_NAMES}
# A cheap first key, the digit key (digit_keys.DIGIT_KEY): its masks match at the same places for all messages
# with one key (the masks only test character classes, lengths and a literal "0x" that starts a word). Their
# masked shapes are then equal unless a digit 1-9 survived masking ("admin73"): such shapes are never cached under
# the key, or Drain would never see "admin1" and generalise the token. The masks match at the same places for all
# messages of a shared key too (zeros_inside_numbers_blind: a zero after a digit starts no hex number), whose
# shapes are equal unless a digit that varies under it survived ("admin10").
_SHAPE_CACHE_LIMIT = 500_000
STATE_ID = 1
STATE_FORMAT = "logchat-drain"
STATE_VERSION = 2
# Drain trees are a few levels deep; a deeper saved tree is not one this code wrote.
_MAX_TREE_DEPTH = 64


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDER[match.lastgroup]  # type: ignore[index]


_UNSEEN: Any = object()


def _cut(text: str, cuts: tuple[tuple[int, int, str], ...]) -> str:
    """``text`` with each (start, end) span replaced by its placeholder: what MASK_RE.sub gives for a text whose
    masks match at those spans."""
    parts = []
    position = 0
    for start, end, placeholder in cuts:
        parts.append(text[position:start])
        parts.append(placeholder)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def mask_message(message: str) -> str:
    """Replace variable parts (ids, IPs, numbers, hex, UUIDs, paths) with typed placeholders."""
    return MASK_RE.sub(_placeholder, message)


class TemplateMiner:
    """Assigns a stable template id to each message."""

    def __init__(self, state: bytes | None = None, *, sim_th: float = 0.4, depth: int = 4) -> None:
        from drain3.drain import Drain

        self._drain = Drain(sim_th=sim_th, depth=depth, max_children=100)
        self._shape_to_id: dict[str, int] = {}
        self._digits_to_id: dict[bytes, int] = {}
        # Keys whose masked shape kept a digit ("... port <NUM> ssh2"): where the masks cut their messages, as
        # (start, end, placeholder) spans, which are the same for every message with the key; under a shared key
        # (zeros_inside_numbers_blind), None until its second message; under a message's own key too once known.
        self._digits_to_cuts: dict[bytes, tuple[tuple[int, int, str], ...] | None] = {}
        # Clusters created or whose template changed since the last take_changed().
        self._changed: set[int] = set()
        # How many times a template was created or changed: a reader of the templates notices a change by it.
        self.change_count = 0
        # The digit key of the last message assigned: the field reader finds its recipes by it too.
        self.last_key = b""
        if state:
            self._restore(state)

    def assign(self, message: str, key: bytes | None = None) -> int:
        """The template id of ``message``. ``key``: its UTF-8 translated by DIGIT_KEY, when the caller has it
        (a one-line message only)."""
        # Only the first line of a multi-line event shapes its template; stack frames would make
        # every trace a template of its own.
        if key is None:
            first_line = message.partition("\n")[0]
            key = first_line.encode("utf-8", "surrogatepass").translate(DIGIT_KEY)
        else:
            first_line = message
        self.last_key = key
        cluster_id = self._digits_to_id.get(key)
        if cluster_id is not None:
            return cluster_id
        cuts = self._digits_to_cuts.get(key)
        if cuts is not None:
            # A key whose messages keep a digit 1-9 ("ssh2"), met before: its shape is cut where its masks are.
            shape = _cut(first_line, cuts)
            cluster_id = self._shape_to_id.get(shape)
            return cluster_id if cluster_id is not None else self._add_shape(shape)
        # Ports and addresses hold zeros anywhere and make tens of thousands of keys, most met once or twice: the
        # key shared with the messages whose zeros inside numbers differ finds most of them masked already.
        shared = zeros_inside_numbers_blind(key)
        if shared is not key:
            cluster_id = self._digits_to_id.get(shared)
            if cluster_id is not None:
                self._remember(key, cluster_id)
                return cluster_id
        cuts = self._digits_to_cuts.get(shared, _UNSEEN)
        if cuts is _UNSEEN:
            shape = MASK_RE.sub(_placeholder, first_line)
        else:
            if cuts is None:  # the shared key's second message: where the masks cut is worth keeping now
                cuts = self._digits_to_cuts[shared] = tuple(
                    (match.start(), match.end(), _PLACEHOLDER[match.lastgroup])  # type: ignore[index]
                    for match in MASK_RE.finditer(first_line)
                )
            shape = _cut(first_line, cuts)
        cluster_id = self._shape_to_id.get(shape)
        if cluster_id is None:
            cluster_id = self._add_shape(shape)
        if VARYING_UNDER_DIGIT_KEY.search(shape) is None:
            self._remember(key, cluster_id)
            if shared is not key and VARYING_UNDER_SHARED_KEY.search(shape) is None:
                self._remember(shared, cluster_id)
        elif cuts is _UNSEEN:
            # Cutting by the shared key's spans gives the shape at a fraction of what masking the message again
            # costs; many keys (a port number of another length) are met once, so the spans are found when one
            # comes back.
            self._remember_cuts(shared, None)
        elif shared is not key:
            self._remember_cuts(key, cuts)  # every message of this very key keeps a digit 1-9 there too
        return cluster_id

    def _add_shape(self, shape: str) -> int:
        cluster, change = self._drain.add_log_message(shape)
        cluster_id: int = cluster.cluster_id
        if change != "none":
            self._changed.add(cluster_id)
            self.change_count += 1
        if len(self._shape_to_id) >= _SHAPE_CACHE_LIMIT:
            self._shape_to_id.clear()
        self._shape_to_id[shape] = cluster_id
        return cluster_id

    def _remember_cuts(self, key: bytes, cuts: tuple[tuple[int, int, str], ...] | None) -> None:
        if len(self._digits_to_cuts) >= _SHAPE_CACHE_LIMIT:
            self._digits_to_cuts.clear()
        self._digits_to_cuts[key] = cuts

    def _remember(self, key: bytes, cluster_id: int) -> None:
        if len(self._digits_to_id) >= _SHAPE_CACHE_LIMIT:
            self._digits_to_id.clear()
        self._digits_to_id[key] = cluster_id

    def template(self, cluster_id: int) -> str:
        cluster = self._drain.id_to_cluster.get(cluster_id)
        return cluster.get_template() if cluster is not None else ""

    def template_tokens(self, cluster_id: int) -> tuple[str, ...]:
        """The template as tokens: the same object until the template changes (cheaper than its text)."""
        cluster = self._drain.id_to_cluster.get(cluster_id)
        return cluster.log_template_tokens if cluster is not None else ()

    def take_changed(self) -> dict[int, str]:
        """Templates created or changed since the last call, as {id: template text}."""
        changed = {cid: self.template(cid) for cid in self._changed}
        self._changed.clear()
        return changed

    @property
    def cluster_count(self) -> int:
        return len(self._drain.id_to_cluster)

    @property
    def newest_id(self) -> int:
        """The highest template id given out so far: ids only grow, so a template with a higher id is newer."""
        return int(self._drain.clusters_counter)

    def dump_state(self) -> bytes:
        """The Drain state as compressed JSON: data that loading cannot turn into code (a pickle in a
        shared database would run on every host that reads it)."""
        drain = self._drain
        payload: dict[str, Any] = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "clusters_counter": drain.clusters_counter,
            "clusters": [[c.cluster_id, c.size, list(c.log_template_tokens)] for c in drain.id_to_cluster.values()],
            "tree": _node_to_data(drain.root_node),
        }
        return zlib.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"), 1)

    def _restore(self, state: bytes) -> None:
        from drain3.drain import LogCluster

        payload = _read_state(state)
        try:
            clusters: dict[int, Any] = {}
            for cluster_id, size, tokens in payload["clusters"]:
                if not isinstance(cluster_id, int) or not isinstance(tokens, list) or not all(
                    isinstance(t, str) for t in tokens
                ):
                    raise TypeError("cluster")
                cluster = LogCluster(tokens, cluster_id)
                cluster.size = int(size)
                clusters[cluster_id] = cluster
            root = _node_from_data(payload["tree"], clusters)
            counter = int(payload["clusters_counter"])
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            raise MinerStateUnreadable(f"the saved template miner state is malformed ({exc})") from exc
        self._drain.id_to_cluster = clusters
        self._drain.clusters_counter = max(counter, max(clusters, default=0))
        self._drain.root_node = root

    @classmethod
    def from_templates(cls, templates: Iterable[tuple[int, str]]) -> TemplateMiner:
        """A miner rebuilt from stored template texts, keeping their ids (for stores whose saved state
        is missing, unreadable or in the old pickle form, which is never loaded)."""
        from drain3.drain import LogCluster

        miner = cls()
        drain = miner._drain
        for template_id, text in sorted(templates):
            cluster = LogCluster(drain.get_content_as_tokens(text), template_id)
            drain.id_to_cluster[template_id] = cluster
            drain.add_seq_to_prefix_tree(drain.root_node, cluster)
            drain.clusters_counter = max(drain.clusters_counter, template_id)
        return miner

    @classmethod
    def from_store(cls, state: bytes | None, templates: Callable[[], Iterable[tuple[int, str]]]) -> TemplateMiner:
        """The miner saved in a store; rebuilt from ``templates()`` when the state cannot be read as data."""
        if state:
            try:
                return cls(state)
            except MinerStateUnreadable:
                pass
        return cls.from_templates(templates())


class MinerStateUnreadable(ValueError):
    """The saved state is not logchat's JSON state (e.g. an old pickle, which is never unpickled)."""


def is_data_state(state: bytes) -> bool:
    """Whether ``state`` is the JSON form (anything else is never interpreted)."""
    try:
        head = zlib.decompressobj().decompress(state, 64)
    except zlib.error:
        return False
    return head.startswith(b'{"format":"' + STATE_FORMAT.encode("ascii") + b'"')


def _read_state(state: bytes) -> dict[str, Any]:
    if not is_data_state(state):
        raise MinerStateUnreadable("the saved template miner state is not in the JSON form")
    try:
        payload = json.loads(zlib.decompress(state))
    except (zlib.error, ValueError) as exc:
        raise MinerStateUnreadable(f"the saved template miner state is corrupt ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("version") != STATE_VERSION:
        raise MinerStateUnreadable("the saved template miner state has an unknown version")
    return payload


def _node_to_data(node: Any) -> dict[str, Any]:
    # Depth is bounded by Drain's tree depth (a handful of levels), so recursion is safe.
    data: dict[str, Any] = {}
    if node.cluster_ids:
        data["c"] = list(node.cluster_ids)
    if node.key_to_child_node:
        data["k"] = {key: _node_to_data(child) for key, child in node.key_to_child_node.items()}
    return data


def _node_from_data(data: dict[str, Any], clusters: dict[int, Any], depth: int = 0) -> Any:
    from drain3.drain import Node

    if not isinstance(data, dict) or depth > _MAX_TREE_DEPTH:
        raise TypeError("tree node")
    node = Node()
    node.cluster_ids = [int(cid) for cid in data.get("c", ()) if int(cid) in clusters]
    node.key_to_child_node = {
        str(key): _node_from_data(child, clusters, depth + 1) for key, child in data.get("k", {}).items()
    }
    return node
