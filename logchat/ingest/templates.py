"""Template mining with Drain3, made fast by masking in one pass and caching masked shapes.

Drain3's own masker runs one regex per instruction over every line, and its tree search runs for
every line, even for the millionth copy of the same shape. Here variables are masked by one
combined regex, and each distinct masked shape is searched in the tree once: repeats cost a dict
lookup. The Drain state is saved into the store with each batch, so template ids are stable
across runs and consistent with the events that reference them.
"""

from __future__ import annotations

import pickle
import re
import zlib
from typing import Any

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
MASK_RE = re.compile(
    _BOUNDARY_BEFORE + "(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _MASKS) + ")" + _BOUNDARY_AFTER
)
_PLACEHOLDER = {name: f"<{name}>" for name in MASK_NAMES}
# A cheap first key: every ASCII digit 1-9 becomes "1" (a bytes translation, ten times faster than
# masking). The key keeps the length, every non-digit and every "0", so the masks match at the same
# places for all messages with one key (the masks only test character classes, lengths and a literal
# "0x"). Their masked shapes are then equal unless a digit 1-9 survived masking ("admin73"): such
# shapes are never cached under the key, or Drain would never see "admin1" and generalise the token.
_DIGIT_KEY = bytes.maketrans(b"23456789", b"11111111")
_VARYING_DIGIT = re.compile(r"[1-9]")
_SHAPE_CACHE_LIMIT = 500_000
STATE_ID = 1
STATE_VERSION = 1


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDER[match.lastgroup]  # type: ignore[index]


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
        # Clusters created or whose template changed since the last take_changed().
        self._changed: set[int] = set()
        if state:
            self._restore(state)

    def assign(self, message: str) -> int:
        # Only the first line of a multi-line event shapes its template; stack frames would make
        # every trace a template of its own.
        first_line = message.partition("\n")[0]
        key = first_line.encode("utf-8", "surrogatepass").translate(_DIGIT_KEY)
        cluster_id = self._digits_to_id.get(key)
        if cluster_id is not None:
            return cluster_id
        shape = MASK_RE.sub(_placeholder, first_line)
        cluster_id = self._shape_to_id.get(shape)
        if cluster_id is None:
            cluster, change = self._drain.add_log_message(shape)
            cluster_id = cluster.cluster_id
            if change != "none":
                self._changed.add(cluster_id)
            if len(self._shape_to_id) >= _SHAPE_CACHE_LIMIT:
                self._shape_to_id.clear()
            self._shape_to_id[shape] = cluster_id
        if _VARYING_DIGIT.search(shape) is None:
            if len(self._digits_to_id) >= _SHAPE_CACHE_LIMIT:
                self._digits_to_id.clear()
            self._digits_to_id[key] = cluster_id
        return cluster_id

    def template(self, cluster_id: int) -> str:
        cluster = self._drain.id_to_cluster.get(cluster_id)
        return cluster.get_template() if cluster is not None else ""

    def take_changed(self) -> dict[int, str]:
        """Templates created or changed since the last call, as {id: template text}."""
        changed = {cid: self.template(cid) for cid in self._changed}
        self._changed.clear()
        return changed

    @property
    def cluster_count(self) -> int:
        return len(self._drain.id_to_cluster)

    def dump_state(self) -> bytes:
        # pickle, not Drain3's jsonpickle: the state is saved with every batch that changes it, and
        # jsonpickle took ~0.2 s per save at a thousand clusters. The state is only ever read back
        # from logchat's own store.
        payload: dict[str, Any] = {
            "version": STATE_VERSION,
            "id_to_cluster": dict(self._drain.id_to_cluster),
            "clusters_counter": self._drain.clusters_counter,
            "root_node": self._drain.root_node,
        }
        return zlib.compress(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL), 1)

    def _restore(self, state: bytes) -> None:
        payload = pickle.loads(zlib.decompress(state))  # our own store, written by dump_state
        self._drain.id_to_cluster = {int(k): v for k, v in payload["id_to_cluster"].items()}
        self._drain.clusters_counter = payload["clusters_counter"]
        self._drain.root_node = payload["root_node"]
