"""JupyterHub for a class that duels: the hub starts the jupyter-duel central service and gives it its users.

Start it with ``jupyterhub -f jupyterhub_config.py`` from the directory that should hold the hub's state (its
database, its cookie secret and the duel service's SQLite file): see README.md beside this file. Names, the port
and the database are examples to adapt.
"""

import os
import sys

c = get_config()  # noqa: F821

# -- Who is who -----------------------------------------------------------------------------------------------------
# Who may log in. The default authenticator (PAM) checks this machine's Unix accounts and the default spawner runs
# each user's server as that Unix user. List the class here, or let every account in with
# c.Authenticator.allow_all = True.
c.Authenticator.allowed_users = {"student1", "student2", "teacher"}
# Hub admins. They are duel instructors too: see the "duel-instructor" role below.
c.Authenticator.admin_users = {"admin"}
# Instructors: the members of this group get the "duel-instructor" role.
c.JupyterHub.load_groups = {"instructors": {"users": ["teacher"]}}

# -- The duel service -----------------------------------------------------------------------------------------------
# One central service for the whole class, started (and restarted) by the hub, reached by browsers through the
# hub's proxy at /services/duel/. It runs as the hub's user: its judge needs root to build its sandbox.
c.JupyterHub.services = [
    {
        "name": "duel",
        "url": "http://127.0.0.1:10101",
        "command": [
            sys.executable, "-m", "jupyter_duel", "serve", "--hub",
            "--db=sqlite:///" + os.path.abspath("duel.sqlite"),
        ],
        # Users log in to the service with their hub account (OAuth), without a "grant access?" page...
        "oauth_no_confirm": True,
        # ...and the service learns from their token whether they hold the instructor scope.
        "oauth_client_allowed_scopes": ["custom:duel:admin"],
    },
]

# -- Roles ----------------------------------------------------------------------------------------------------------
c.JupyterHub.custom_scopes = {
    "custom:duel:admin": {
        "description": "Instructor powers in jupyter-duel: manage battles, challenge packs and players.",
    },
}
c.JupyterHub.load_roles = [
    # Every user: their own things (all the default "user" role has) and the duel service's URL.
    {
        "name": "user",
        "scopes": ["self", "access:services!service=duel", "read:services!service=duel"],
    },
    # Instructors, by group. Hub admins are instructors too, but JupyterHub does not let a configuration change the
    # scopes of its "admin" role: so the admin users are given this role by name as well. Keep the list in step
    # with c.Authenticator.admin_users.
    {
        "name": "duel-instructor",
        "description": "Instructors of jupyter-duel",
        "scopes": ["custom:duel:admin", "access:services!service=duel", "read:services!service=duel"],
        "groups": ["instructors"],
        "users": sorted(c.Authenticator.admin_users),
    },
    # The service itself: it looks users up (name, admin flag, groups) to tell who is who.
    {
        "name": "duel-service",
        "description": "The jupyter-duel central service",
        "scopes": ["read:users"],
        "services": ["duel"],
    },
]

# -- Users' servers -------------------------------------------------------------------------------------------------
# The Duel panel in each user's JupyterLab talks to the central service named here (not to a service of its own).
c.Spawner.environment = {"JUPYTER_DUEL_HUB_SERVICE": "duel"}
c.Spawner.default_url = "/lab"
# The token each user's server (and so their notebook kernels) gets, JUPYTERHUB_API_TOKEN: what a server needs, and
# for the notebook duel client (jupyter_duel.DuelClient) the duel service, where it is, and the instructor scope
# (only where the user holds it). It names its user only: the service asks the hub whose it is.
c.Spawner.server_token_scopes = [
    "access:servers!server",
    "users:activity!user",
    "access:services!service=duel",
    "read:services!service=duel",
    "custom:duel:admin",
]
# Each user's server runs as that user from the hub's own environment, which every user must be able to read.
c.Spawner.cmd = [os.path.join(sys.prefix, "bin", "jupyterhub-singleuser")]
