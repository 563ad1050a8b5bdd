"""Code the tests share, imported one way: ``from helpers.<module> import <name>``.

``pyproject.toml`` puts ``tests/`` on ``sys.path`` (pytest's ``pythonpath``), so ``helpers`` is a
top-level package. conftest files only register fixtures; what a fixture builds lives here.

- :mod:`helpers.clock`: a fake monotonic clock and sleeper, so no test waits on real time.
- :mod:`helpers.planning`: desired entries and observed Maple objects built by hand.
- :mod:`helpers.fake_maple`: a scripted in-memory Maple for the apply engine.
- :mod:`helpers.ledger`: credit, ledger and billable rows by hand, and a reader serving them
  (for ``status``).
- :mod:`helpers.control`: the sandbox's control API, through maplectl's one ``ControlClient``.
- :mod:`helpers.sandbox`: request bodies, ``/find`` helpers and clocks for the sandbox tests.
- :mod:`helpers.maple`: an in-process sandbox with the real client, for integration tests.
- :mod:`helpers.cli`: ``maplectl sandbox serve`` and the CLI as subprocesses (e2e tests).
- :mod:`helpers.hostile`: servers that misbehave on purpose, on real sockets.
- :mod:`helpers.signals`: SIGINT for the tests that press Ctrl-C, even in a run that ignores it.
- :mod:`helpers.processes`: the check and the guard that keep subprocess tests marked ``e2e``.
"""
