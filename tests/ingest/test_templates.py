"""Template mining: a stored template states as literal only what every one of its events has."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from logchat.ingest.templates import DIGIT_KEY, TemplateMiner, mask_message
from logchat.redaction import mask_secrets
from logchat.services.ingest import index_inputs
from logchat.storage.models import Event, Template

SYSTEMS = ["Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH",
           "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper"]
WILDCARD = "<*>"


def contradictions(template: str, message: str) -> list[str]:
    """Where ``template`` states a token that ``message`` does not have.

    The miner shapes a template from the first line of a message with its secrets and variables
    masked (as the ingest pipeline hands it over), split as Drain splits it, so each template token
    must be the wildcard or exactly that token of the message's shape.
    """
    shape = mask_message(mask_secrets(message).partition("\n")[0]).strip().split()
    tokens = template.split()
    if len(tokens) != len(shape):
        return [f"{len(tokens)} tokens vs {len(shape)} in {message!r}"]
    return [f"{t!r} vs {s!r}" for t, s in zip(tokens, shape, strict=True) if t != WILDCARD and t != s]


def assert_templates_hold(store) -> int:  # type: ignore[no-untyped-def]
    """Check every stored event against its stored template; returns how many were checked."""
    with store.session() as session:
        templates = dict(session.execute(select(Template.id, Template.template)).all())
        checked = 0
        bad: list[str] = []
        for template_id, message in session.execute(select(Event.template_id, Event.message)):
            problems = contradictions(templates[template_id], message)
            if problems:
                bad.append(f"template {template_id} {templates[template_id]!r}: {problems[0]}")
            checked += 1
    assert not bad, f"{len(bad)} events contradict their template, e.g. {bad[:3]}"
    return checked


def failed_logins(count: int, seed: int = 5, names: tuple[str, ...] = ("admin",)) -> list[str]:
    """Failed logins of numbered users: with one name they differ only in digits."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        user = f"{rng.choice(names)}{rng.randint(1, 300)}"
        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        lines.append(f"Nov  3 10:{i // 60 % 60:02d}:{i % 60:02d} web-0{i % 4} sshd[{2000 + i}]: Failed password "
                     f"for invalid user {user} from {ip} port {rng.randint(1024, 65535)} ssh2")
    return lines


def test_varying_ids_become_wildcards_in_the_miner() -> None:
    miner = TemplateMiner()
    messages = [line.split(": ", 1)[1] for line in failed_logins(3_000)]
    ids = [miner.assign(message) for message in messages]
    for cluster_id, message in zip(ids, messages, strict=True):
        assert not contradictions(miner.template(cluster_id), message)
    first = miner.template(ids[0])
    assert first == f"Failed password for invalid user {WILDCARD} from <IP> port <NUM> ssh2"


def test_same_digit_pattern_but_different_mask_is_not_shared() -> None:
    # "0x1f" is hex, "5x1f" is not, "1.2.3.4" is an address, "1234.2.3.4" a number: the digit-shape
    # shortcut must not send one to the other's template.
    miner = TemplateMiner()
    pairs = [("value 0x1f set", "value 5x1f set"), ("peer 1.2.3.4 up", "peer 1234.2.3.4 up")]
    for first, second in pairs:
        a, b = miner.assign(first), miner.assign(second)
        assert not contradictions(miner.template(a), first)
        assert not contradictions(miner.template(b), second)


def test_generated_logins_store_only_true_literals(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "auth.log"
    log.write_text("\n".join(failed_logins(5_000)) + "\n", encoding="utf-8")
    assert not index_inputs(store, settings, [str(log)]).failed
    assert assert_templates_hold(store) == 5_000
    with store.session() as session:
        texts = list(session.scalars(select(Template.template)))
    assert not any("admin" in text for text in texts), texts


def test_mixed_user_names_store_only_true_literals(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "auth.log"
    log.write_text("\n".join(failed_logins(3_000, seed=9, names=("admin", "user", "svc"))) + "\n", encoding="utf-8")
    assert not index_inputs(store, settings, [str(log)]).failed
    assert assert_templates_hold(store) == 3_000


@pytest.mark.parametrize("system", SYSTEMS)
def test_loghub_templates_state_only_true_literals(system: str, loghub: Path, tmp_path: Path) -> None:
    from logchat.config import load_settings
    from logchat.storage.db import open_store

    data_dir = tmp_path / "data"
    settings = load_settings(data_dir=data_dir, database={"url": f"sqlite:///{data_dir / 'logchat.db'}"})
    data_dir.mkdir()
    store = open_store(settings.database_url)
    try:
        report = index_inputs(store, settings, [str(loghub / system / f"{system}_2k.log")])
        assert not report.failed, report.sources[0].errors
        assert assert_templates_hold(store) == report.new_events
    finally:
        store.close()


def test_messages_that_keep_a_digit_get_the_templates_of_their_own_masked_shape() -> None:
    # "ssh2" keeps its digit through masking, so such messages are cut where the first of their key was: the
    # shapes must be what masking each message gives, or Drain would see another text.
    rng = random.Random(11)
    messages = [f"session {rng.randint(1, 99)} of user{rng.randint(1, 9)} from 10.0.{rng.randint(0, 9)}.1 via ssh{d}"
                for d in range(1, 10) for _ in range(40)]
    rng.shuffle(messages)
    cut, masked_each = TemplateMiner(), TemplateMiner()
    for message in messages:
        assert cut.assign(message) == masked_each.assign(mask_message(message))
        assert cut.template(cut.assign(message)) == masked_each.template(masked_each.assign(mask_message(message)))
    assert cut.dump_state() == masked_each.dump_state()


def test_a_key_given_by_the_caller_is_the_one_the_miner_would_make() -> None:
    miner, keyed = TemplateMiner(), TemplateMiner()
    for line in failed_logins(500):
        message = line.split(": ", 1)[1]
        assert keyed.assign(message, message.encode("utf-8").translate(DIGIT_KEY)) == miner.assign(message)
        assert keyed.last_key == miner.last_key
    assert keyed.dump_state() == miner.dump_state()


def _zeros_everywhere(count: int, seed: int) -> list[str]:
    """Messages whose numbers hold zeros anywhere (ports, addresses, durations, hex, leading zeros) and whose
    names hold digits that survive masking ("admin00", "admin10", "node7"), in many shapes."""
    rng = random.Random(seed)

    def number(length: int) -> str:
        return "".join(rng.choice("0000123456789") for _ in range(length))

    def port() -> str:
        return str(rng.choice((0, 10, 100, 1000, 10000, 20000, 40260, 51234, 60000, 22, 80, 8080, 5000)))

    admins = ("00", "01", "05", "10", "13", "70", "100")
    shapes = [
        lambda: f"Accepted password for root from 10.{rng.randint(0, 200)}.0.{rng.randint(0, 255)} port {port()} ssh2",
        lambda: f"connection from 192.168.{rng.choice((0, 10, 100))}.{rng.randint(0, 255)}:{port()} closed",
        lambda: f"login of admin{rng.choice(admins)} from 10.0.0.{rng.randint(1, 9)}",
        lambda: f"user node{rng.randint(0, 20)} took {number(rng.randint(1, 4))}ms with k{rng.choice(('0', '00'))}=v",
        lambda: f"read 0x{rng.choice(('10', '100', '1f0', '0'))} at offset {number(rng.randint(1, 6))} of {port()}",
        lambda: f"user{rng.choice(admins)}",  # one token: Drain keeps each name a template of its own
        lambda: f"job {number(3)}-{number(2)} exited with code {rng.choice((0, 1, 10, 100, 2))}",
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def test_messages_that_differ_in_zeros_inside_numbers_share_their_masking_and_get_their_own_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The miner masks a message once per shared key (its digit key with zeros inside numbers as "1"): every
    # message must still get the template that masking it alone gives, names whose digits differ ("admin00",
    # "admin05") kept apart.
    from drain3.drain import Drain

    from logchat.ingest import templates
    from logchat.ingest.digit_keys import zeros_inside_numbers_blind

    messages = _zeros_everywhere(6000, seed=17)
    # The reference: Drain itself, given each message masked, with no cache in between.
    drain = Drain(sim_th=0.4, depth=4, max_children=100)
    expected = []
    for message in messages:
        cluster = drain.add_log_message(mask_message(message))[0]
        expected.append((cluster.cluster_id, cluster.get_template()))  # the template as it is at this message
    masks, maskings = templates.MASK_RE, []

    class CountingMasks:
        def sub(self, replace: Any, text: str) -> str:
            maskings.append(text)
            return masks.sub(replace, text)

        def finditer(self, text: str) -> Any:
            maskings.append(text)
            return masks.finditer(text)

    monkeypatch.setattr(templates, "MASK_RE", CountingMasks())
    cut = TemplateMiner()
    for message, (cluster_id, template) in zip(messages, expected, strict=True):
        assert cut.assign(message) == cluster_id, message
        assert cut.template(cluster_id) == template, message
    keys = {message.encode().translate(DIGIT_KEY) for message in messages}
    shared = {zeros_inside_numbers_blind(key) for key in keys}
    assert len(shared) * 3 < len(keys)
    assert len(maskings) <= 2 * len(shared)  # a full masking and, for shapes that keep a digit, a finditer
