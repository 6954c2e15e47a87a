"""No API response, event or front-end bundle contains hidden tests, reference or brute-force solutions, or a
custom checker.

Scanned: (a) every REST response of a real service process, (b) the ``match_found`` payloads of real battles in
every pool, (c) every file of the built front-end bundle. Looked for: each challenge's distinctive hidden calls
and expected values (not those the statement or samples show anyway, nor short ones) and the distinctive lines
of its secret sources, both as written and JSON-escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from challenge_builders import write_challenge
from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, start_battle
from jupyter_duel_server.challenges import Challenge, ChallengeLibrary
from test_validator import write_pair

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "jupyter_duel" / "labextension" / "static"
MIN_LEN = 12


def public_text(c: Challenge) -> str:
    return c.statement + c.signature + c.starter_code + "".join(c.call_repr(t) + repr(t.expected) for t in c.samples)


_PUBLIC_CORPUS: dict[int, str] = {}


def public_corpus(library: ChallengeLibrary) -> str:
    """Everything the library shows of every challenge: a value public in one challenge is no secret of another."""
    key = id(library)
    if key not in _PUBLIC_CORPUS:
        _PUBLIC_CORPUS[key] = "\n".join(public_text(c) for c in library.all())
    return _PUBLIC_CORPUS[key]


def secrets_of(c: Challenge, public: str = "") -> list[str]:
    """Strings that can only appear in a text if a hidden test or a secret source leaked."""
    public = public_text(c) + public
    found: list[str] = []
    for test in c.hidden:
        for text in (c.call_repr(test), repr(test.expected), *(repr(a) for a in test.args)):
            probes = [text] if len(text) <= 200 else [text, text[:100]]  # reprs may be cut short when shown
            found += [p for p in probes if len(p) >= MIN_LEN and p not in public]
    for source in (c.reference, c.brute_force, c.checker_source):
        body = "\n".join(line for line in (source or "").strip().splitlines() if not line.startswith("def "))
        if len(body) >= MIN_LEN:
            found.append(body)  # the whole body, however short its lines
        for line in (source or "").splitlines():
            line = line.strip()
            if len(line) > 25 and not line.startswith(("def ", "#", "return ")) and line not in public:
                found.append(line)
    return list(dict.fromkeys(found))


def leaks_in(text: str, library: ChallengeLibrary) -> list[tuple[str, str]]:
    out = []
    corpus = public_corpus(library)
    for c in library.all():
        for secret in secrets_of(c, corpus):
            if secret in text or json.dumps(secret)[1:-1] in text:
                out.append((c.id, secret[:80]))
    return out


@pytest.fixture(scope="module")
def extra_pack(tmp_path_factory):
    """An instructor pack next to the bundled one: a hard challenge with a brute force, and a custom checker."""
    root = tmp_path_factory.mktemp("extra") / "course"
    write_challenge(root, "triangle-total")
    write_pair(root, "pair-up")
    return root


@pytest.fixture(scope="module")
def library(extra_pack):
    lib = ChallengeLibrary(ChallengeLibrary.default_dirs() + [extra_pack])
    assert sum(len(secrets_of(c)) > 0 for c in lib.all()) == len(lib), "every challenge has something to look for"
    return lib


@pytest.fixture
def service(tmp_path, extra_pack):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, f"--DuelService.challenge_dirs={extra_pack}").start()
    yield svc
    svc.stop()


def test_the_scan_finds_a_leak_when_there_is_one(library):
    c = library.get("triangle-total")
    assert leaks_in(json.dumps({"x": c.call_repr(c.hidden[-1])}), library)
    assert leaks_in("var s = " + json.dumps(c.brute_force), library)
    assert leaks_in(library.get("pair-up").checker_source, library)
    assert not leaks_in(json.dumps(c.public_view()), library)


async def test_rest_responses_and_match_found_never_leak(service, library):
    made: list[Player] = []

    async def make(name):
        player = await Player(service.url, name).connect()
        made.append(player)
        return player

    texts: dict[str, str] = {}
    try:
        for i, pool in enumerate(("easy", "medium", "hard", "any")):
            p1, p2, m1, m2 = await start_battle(make, f"a{i}", f"b{i}", pool=pool)
            texts[f"match_found {pool} (1)"] = json.dumps(m1)
            texts[f"match_found {pool} (2)"] = json.dumps(m2)
            assert (await p1.call("forfeit", {"battle_id": m1["battle_id"]}))["ok"]
            await p2.expect("battle_complete")
        urls = ["/api/health", "/api/challenges", "/api/queue-info", "/api/queue-info?name=a0", "/api/leaderboard",
                "/api/users/a0", "/api/users/a0/battles", "/api/users/b3/battles", "/api/challenges/nope"]
        urls += [f"/api/challenges/{c.id}" for c in library.all()]
        for url in urls:
            status, body = get_json(service.url + url)
            assert status in (200, 404), (url, status)
            texts[url] = json.dumps(body)
    finally:
        for player in made:
            await player.close()
    served = {c["id"] for c in json.loads(texts["/api/challenges"])["challenges"]}
    assert served == {c.id for c in library.all()}, "the service serves the same challenges as scanned"
    for where, text in texts.items():
        assert not leaks_in(text, library), where


def test_the_front_end_bundle_never_leaks(library):
    files = [p for p in BUNDLE.rglob("*") if p.is_file()]
    assert files, f"no built front end under {BUNDLE}"
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not leaks_in(text, library), path.name
