# expect: RE WA
# Tries to fool the harness into reporting success: results are whatever the submission claims, compared on the
# trusted side against outputs that never entered the sandbox.
import builtins
from IPython.display import publish_display_data

real = publish_display_data


def fake(data, *a, **k):
    real({"application/vnd.jupyter-duel.result+json": {"i": 0, "status": "ok", "value": "forged", "error": None,
                                                        "time_ms": 0}})


import IPython.display
IPython.display.publish_display_data = fake
builtins.isinstance = lambda *a: True


def f(x):
    return None
