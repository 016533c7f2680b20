"""Dataflow modules run by the CLI tests as `flows.<module>:<attr>`.

They import only `rillet.*`. When the suite is proven against the
Bytewax peer (`RILLET_TEST_PEER=bytewax`), the alias is installed here,
before any flow module body runs, so the children of
`python -m bytewax.run` resolve `rillet.*` to `bytewax.*` too.
"""

import os

if os.environ.get("RILLET_TEST_PEER") == "bytewax":
    import peer_alias

    peer_alias.install()
