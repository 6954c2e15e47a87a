"""Guests' handles in their own namespace ("guest:" + the chosen name) and every name's look-alike skeleton.

Releases before this kept a guest under the bare name it chose and no skeleton; their databases get both here
(once: the service writes nothing else since).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from jupyter_duel_server.auth import GUEST_PREFIX, display_name, skeleton

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String),
                 sa.column("guest", sa.Boolean), sa.column("skeleton", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    bare_guests = bind.execute(sa.select(users.c.id, users.c.name).where(
        users.c.guest.is_(True), ~users.c.name.startswith(GUEST_PREFIX, autoescape=True))).all()
    for user_id, name in bare_guests:
        bind.execute(users.update().where(users.c.id == user_id).values(name=GUEST_PREFIX + name))
    for user_id, name in bind.execute(sa.select(users.c.id, users.c.name).where(users.c.skeleton.is_(None))).all():
        bind.execute(users.update().where(users.c.id == user_id).values(skeleton=skeleton(display_name(name))))


def downgrade() -> None:
    pass  # the namespace and the skeletons are what every later release expects; nothing to undo
