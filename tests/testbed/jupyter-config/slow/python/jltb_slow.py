"""A Jupyter server extension that takes 20 seconds to load."""

import time


def _jupyter_server_extension_points():
    return [{"module": "jltb_slow"}]


def _load_jupyter_server_extension(server_app):
    server_app.log.info("jltb_slow: warming up, this takes 20 s")
    time.sleep(20)
    server_app.log.info("jltb_slow: ready")
