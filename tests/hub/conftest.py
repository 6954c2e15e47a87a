"""A real JupyterHub for the whole session (``hub``); the tests drive it with ``chromium`` (tests/conftest.py).

``hub`` (a :class:`hubtools.Hub`) is JupyterHub 6.1.1 with configurable-http-proxy on free ports, configured by
``server/deploy/jupyterhub/jupyterhub_config.py``, with the duel service as its managed service ``duel``. What a
test gets from it:

- ``hub.url`` (the proxy, no trailing slash), ``hub.service_url`` (``{url}/services/duel/``), ``hub.lab_url(user)``;
- ``hub.users`` (name -> :class:`hubtools.HubUser`: ``name``, ``password``, ``role``, ``uid``, ``home``),
  ``hub.students`` (two), ``hub.instructor`` (in the hub's ``instructors`` group), ``hub.admin`` (a hub admin):
  real local Unix users with fresh 0700 homes, each server running as its user from a venv readable by all;
- ``hub.session(user)``: a ``requests`` session logged in through the ``/hub/login`` form, the user's JupyterLab
  loaded once (``lab=False``: only logged in to the hub); ``hub.login(page, user)``: the same in a Playwright
  page, ending with the user's JupyterLab on screen at ``/user/<name>/lab``;
- ``hub.api(method, path, ...)`` on ``/hub/api`` with an admin-scoped token, ``hub.user_model(user)``,
  ``hub.start_server(user)``, ``hub.stop_server(user)``, ``hub.server_pid(user)``;
- logs in ``hub.log_dir`` (``test-artifacts/hub/``): ``hub.hub_log``, ``hub.proxy_log``, ``hub.service_log``,
  ``hub.server_log(user)``; ``hub.logs()`` gives the tail of each.

Teardown stops the hub (which stops the servers, the service and the proxy) and kills whatever of the run is left.
"""

from __future__ import annotations

import os

import pytest

from hubtools import make_hub


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the hub's users are local Unix users: creating them and running their servers needs root")
    hub = make_hub(tmp_path_factory.mktemp("hub"))
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()

