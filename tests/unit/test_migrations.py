"""The schema's Alembic migrations, on SQLite and on PostgreSQL: a new database gets the models' schema exactly,
and a database made by an older release (before migrations) is brought up to date with every row kept."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from jupyter_duel_server.migrations import alembic_config, current_revision
from jupyter_duel_server.store import Base, NameConfusable, Store

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()

# The schema the last release before migrations made in a new database (SQLAlchemy's create_all, as SQLite shows
# it), copied here so that later changes to the models never change what this test starts from.
PREVIOUS_RELEASE = """
CREATE TABLE users (id INTEGER NOT NULL, name VARCHAR(64) NOT NULL, guest BOOLEAN NOT NULL, skeleton VARCHAR(64),
    guest_key_hash VARCHAR(64), bot BOOLEAN NOT NULL, rating FLOAT NOT NULL, rd FLOAT NOT NULL,
    volatility FLOAT NOT NULL, last_rated_at FLOAT, games INTEGER NOT NULL, wins INTEGER NOT NULL,
    losses INTEGER NOT NULL, draws INTEGER NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_users_skeleton ON users (skeleton);
CREATE UNIQUE INDEX ix_users_name ON users (name);
CREATE TABLE battles (id VARCHAR(64) NOT NULL, challenge_id VARCHAR(128) NOT NULL, player_a_id INTEGER NOT NULL,
    player_b_id INTEGER NOT NULL, ranked BOOLEAN NOT NULL, status VARCHAR(16) NOT NULL, winner_id INTEGER,
    reason VARCHAR(32), started_at FLOAT NOT NULL, ended_at FLOAT, rating_a_before FLOAT NOT NULL,
    rating_b_before FLOAT NOT NULL, rating_a_after FLOAT, rating_b_after FLOAT, mirror VARCHAR(16), similarity FLOAT,
    note VARCHAR(200), PRIMARY KEY (id), FOREIGN KEY(player_a_id) REFERENCES users (id),
    FOREIGN KEY(player_b_id) REFERENCES users (id), FOREIGN KEY(winner_id) REFERENCES users (id));
CREATE INDEX ix_battles_player_a_id ON battles (player_a_id);
CREATE INDEX ix_battles_player_b_id ON battles (player_b_id);
CREATE TABLE paste_events (id INTEGER NOT NULL, battle_id VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL,
    chars INTEGER NOT NULL, at_s FLOAT NOT NULL, PRIMARY KEY (id), FOREIGN KEY(battle_id) REFERENCES battles (id),
    FOREIGN KEY(user_id) REFERENCES users (id));
CREATE INDEX ix_paste_events_battle_id ON paste_events (battle_id);
CREATE TABLE submissions (id INTEGER NOT NULL, battle_id VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL,
    code TEXT NOT NULL, samples_only BOOLEAN NOT NULL, verdict VARCHAR(16), passed INTEGER NOT NULL,
    total INTEGER NOT NULL, created_at FLOAT NOT NULL, tests TEXT, PRIMARY KEY (id),
    FOREIGN KEY(battle_id) REFERENCES battles (id), FOREIGN KEY(user_id) REFERENCES users (id));
CREATE INDEX ix_submissions_battle_id ON submissions (battle_id);
CREATE TABLE timelines (battle_id VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, final_code TEXT NOT NULL,
    edits TEXT NOT NULL, PRIMARY KEY (battle_id, user_id), FOREIGN KEY(battle_id) REFERENCES battles (id),
    FOREIGN KEY(user_id) REFERENCES users (id));
INSERT INTO users (name, guest, skeleton, guest_key_hash, bot, rating, rd, volatility, last_rated_at, games, wins,
    losses, draws, created_at) VALUES ('ann', FALSE, 'ann', NULL, FALSE, 1216, 300, 0.06, 10, 1, 1, 0, 0, 1),
    ('guest:ben', TRUE, 'ben', 'somehash', FALSE, 1184, 300, 0.06, 10, 1, 0, 1, 0, 2);
INSERT INTO battles (id, challenge_id, player_a_id, player_b_id, ranked, status, winner_id, reason, started_at,
    ended_at, rating_a_before, rating_b_before, rating_a_after, rating_b_after, mirror, similarity, note)
    VALUES ('b1', 'add-two', 1, 2, TRUE, 'finished', 1, 'solved', 100, 160, 1200, 1200, 1216, 1184, 'shape', 0.25,
    NULL);
INSERT INTO submissions (battle_id, user_id, code, samples_only, verdict, passed, total, created_at, tests)
    VALUES ('b1', 1, 'def add_two(a, b): return a + b', FALSE, 'accepted', 5, 5, 150, '[["hidden", "ok", true, 1.0]]');
INSERT INTO timelines (battle_id, user_id, final_code, edits)
    VALUES ('b1', 1, 'def add_two(a, b): return a + b', '[[1.0, 1, null, "def"]]');
INSERT INTO paste_events (battle_id, user_id, chars, at_s) VALUES ('b1', 2, 250, 30);
"""

# An early release's schema: no name skeletons, guest keys, Glicko fields, fair-play signals, reviews or replays,
# and guests under their bare names; its later releases added the missing columns as they went.
EARLY_RELEASE = """
CREATE TABLE users (id INTEGER NOT NULL, name VARCHAR(64) NOT NULL, guest BOOLEAN NOT NULL, bot BOOLEAN NOT NULL,
    rating FLOAT NOT NULL, games INTEGER NOT NULL, wins INTEGER NOT NULL, losses INTEGER NOT NULL,
    draws INTEGER NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_users_name ON users (name);
CREATE TABLE battles (id VARCHAR(64) NOT NULL, challenge_id VARCHAR(128) NOT NULL, player_a_id INTEGER NOT NULL,
    player_b_id INTEGER NOT NULL, ranked BOOLEAN NOT NULL, status VARCHAR(16) NOT NULL, winner_id INTEGER,
    reason VARCHAR(32), started_at FLOAT NOT NULL, ended_at FLOAT, rating_a_before FLOAT NOT NULL,
    rating_b_before FLOAT NOT NULL, rating_a_after FLOAT, rating_b_after FLOAT, PRIMARY KEY (id),
    FOREIGN KEY(player_a_id) REFERENCES users (id), FOREIGN KEY(player_b_id) REFERENCES users (id),
    FOREIGN KEY(winner_id) REFERENCES users (id));
CREATE TABLE submissions (id INTEGER NOT NULL, battle_id VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL,
    code TEXT NOT NULL, samples_only BOOLEAN NOT NULL, verdict VARCHAR(16), passed INTEGER NOT NULL,
    total INTEGER NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(battle_id) REFERENCES battles (id), FOREIGN KEY(user_id) REFERENCES users (id));
INSERT INTO users (name, guest, bot, rating, games, wins, losses, draws, created_at)
    VALUES ('carol', TRUE, FALSE, 1300, 3, 2, 1, 0, 0), ('dave', FALSE, FALSE, 1250, 1, 1, 0, 0, 0);
INSERT INTO battles (id, challenge_id, player_a_id, player_b_id, ranked, status, winner_id, reason, started_at,
    ended_at, rating_a_before, rating_b_before, rating_a_after, rating_b_after)
    VALUES ('old', 'add-two', 1, 2, TRUE, 'finished', 2, 'solved', 10, 70, 1316, 1234, 1300, 1250);
INSERT INTO submissions (battle_id, user_id, code, samples_only, verdict, passed, total, created_at)
    VALUES ('old', 2, 'def add_two(a, b): return a + b', FALSE, 'accepted', 5, 5, 60);
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'duel.sqlite'}"
    return request.getfixturevalue("postgres_url")


def build(url: str, ddl: str) -> None:
    """Make a database as an older release left it (PostgreSQL's integer keys were serial columns)."""
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        ddl = ddl.replace("(id INTEGER NOT NULL,", "(id SERIAL NOT NULL,")
    with engine.begin() as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(text(statement))
    engine.dispose()


def schema_differences(store: Store) -> list:
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_a_new_database_gets_the_models_schema(db_url):
    store = Store(db_url)
    assert current_revision(store.engine) == HEAD
    assert schema_differences(store) == []
    store.get_or_create_user("ann")
    store.close()
    store = Store(db_url)  # opened again: nothing to do, nothing lost
    assert current_revision(store.engine) == HEAD and store.get_user("ann").name == "ann"
    store.close()


def test_the_previous_release_database_keeps_every_row(db_url):
    build(db_url, PREVIOUS_RELEASE)
    store = Store(db_url)
    assert current_revision(store.engine) == HEAD
    assert schema_differences(store) == []
    assert store.counts() == {"users": 2, "battles": 1, "submissions": 1}
    ann = store.get_user("ann")
    assert (ann.rating, ann.wins, ann.rd) == (1216, 1, 300)
    review = store.battle_review("b1")
    assert review["players"] == ["ann", "guest:ben"] and review["winner"] == "ann"
    assert review["submissions"][0]["tests"] == [["hidden", "ok", True, 1.0]]
    assert review["codes"][0] == "def add_two(a, b): return a + b"
    [history] = store.user_battles("guest:ben")
    assert history["pastes"] == [{"player": "guest:ben", "chars": 250, "at_s": 30.0}]
    assert (history["result"], history["similarity"], history["mirror"]) == ("loss", 0.25, "shape")
    # New rows go on from the old ones.
    eve = store.get_or_create_user("eve")
    assert eve.id == 3
    store.create_battle("b2", "add-two", ann, eve, ranked=True, started_at=200)
    assert store.add_submission("b2", eve.id, "pass", False) == 2
    store.close()


def test_an_early_release_database_gets_the_new_columns_and_the_guest_namespace(db_url):
    build(db_url, EARLY_RELEASE)
    store = Store(db_url)
    assert current_revision(store.engine) == HEAD
    assert schema_differences(store) == []
    assert store.get_user("carol") is None and store.get_user("guest:carol").rating == 1300
    assert store.get_user("dave").rd == 350.0  # the new columns' defaults
    carol, key = store.claim_guest("carol", None)  # a guest from before keys: the first browser claims it
    assert carol.games == 3 and key
    with pytest.raises(NameConfusable):  # the skeletons were filled in
        store.claim_guest("Dave", None)
    [old] = store.user_battles("dave")
    assert (old["result"], old["opponent"], old["rating_after"]) == ("win", "guest:carol", 1250)
    assert store.battle_review("old")["submissions"][0]["verdict"] == "accepted"
    store.close()
