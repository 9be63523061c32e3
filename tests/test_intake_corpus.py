"""The intake over a corpus of real-looking mail (tests/data/intake/corpus): each message gets what a
user expects of it (expectations.toml), in one run against the live service and tests/intake_world.py."""

import datetime as dt
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from service.intake.message import message_id_of
from service.rules.wording import day_month_year
from tests.intake_harness import (
    DATA,
    attachments,
    deliver,
    plain_text,
    replies_in,
    run_intake,
    seed_world,
    state_of,
)
from tests.pdf_tools import pdf_text
from tests.support import LiveServer, base_env

CORPUS = DATA / "corpus"
EXPECTATIONS: list[dict[str, Any]] = tomllib.loads((CORPUS / "expectations.toml").read_text())["message"]
# What each reason's explanation says in words (the reply's X-Certledger-Reply header names it too).
SAYS = {
    "not_on_list": "not on the attendee list",
    "incomplete_participation": "full participation",
    "not_core_trained": "core training",
    "list_not_submitted": "has not been submitted",
    "hub_session": "local hub",
    "no_session": "could not find",
    "ambiguous": "more than one session",
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("corpus")
    env = base_env(tmp)
    server = LiveServer(env)
    try:
        token = seed_world(server, env)
        maildir, outbox = tmp / "inbox", tmp / "outbox"
        keys = {}
        for expectation in EXPECTATIONS:
            raw = (CORPUS / expectation["file"]).read_bytes()
            keys[expectation["file"]] = (deliver(maildir, raw), message_id_of(raw))
        done = run_intake(server, token, maildir, outbox, tmp / "state.sqlite3")
        assert done.returncode == 0, done.stderr
        replies: dict[str, list] = {}
        for reply in replies_in(outbox):
            replies.setdefault(str(reply["In-Reply-To"]), []).append(reply)
        yield {
            "keys": keys,
            "replies": replies,
            "where": state_of(maildir),
            "log": done.stderr,
            "token": token,
        }
    finally:
        server.stop()


def test_the_corpus_is_large_and_varied():
    kinds = [e["expect"] for e in EXPECTATIONS]
    assert len(kinds) >= 40
    assert {
        k: kinds.count(k) >= 3 for k in ("certificate", "explanation", "question", "none")
    } == dict.fromkeys(("certificate", "explanation", "question", "none"), True)
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(e["file"] for e in EXPECTATIONS)


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=[e["file"] for e in EXPECTATIONS])
def test_each_message_gets_what_a_user_expects(corpus_run: dict[str, Any], expectation: dict[str, Any]):
    key, message_id = corpus_run["keys"][expectation["file"]]
    replies = corpus_run["replies"].get(message_id, [])
    where = corpus_run["where"][key]
    expect = expectation["expect"]
    if expect == "none":
        assert replies == [], plain_text(replies[0])
        assert where == ("new" if expectation["left"] else "cur:S")
        return
    assert len(replies) == 1, f"{len(replies)} replies"
    (reply,) = replies
    assert reply["To"] == expectation["to"]
    assert where == "cur:S"
    text = plain_text(reply)
    kind = str(reply["X-Certledger-Reply"])
    if expect == "certificate":
        (pdf,) = attachments(reply).values()
        printed = " ".join(pdf_text(pdf).split())
        assert expectation["holder"] in printed
        assert day_month_year(dt.date.fromisoformat(expectation["session_date"])) in printed
        assert expectation["session_start"] in printed
        assert expectation["holder"] in text
    elif expect == "explanation":
        assert attachments(reply) == {}
        assert kind.endswith(f":{expectation['reason']}"), kind
        assert SAYS[expectation["reason"]] in text, text
    else:
        assert attachments(reply) == {}
        assert kind == f"question:{'+'.join(expectation['asks'])}", kind


def test_the_log_has_one_line_per_message_and_never_a_body_or_token(corpus_run: dict[str, Any]):
    log = corpus_run["log"]
    for _key, message_id in corpus_run["keys"].values():
        assert sum(message_id in line for line in log.splitlines()) == 1, message_id
    assert "Kia ora" not in log and "Could I please" not in log
    assert corpus_run["token"] not in log
