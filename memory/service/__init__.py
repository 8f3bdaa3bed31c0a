"""The REST service: the FastAPI app, its routes, limits and error answers, and the inspector UI.

:mod:`~memory.service.app` (the app, keys, ``serve``), :mod:`~memory.service.namespace_routes`
and :mod:`~memory.service.inspect_routes` (route groups), :mod:`~memory.service.common` (what
routes share), :mod:`~memory.service.limits`, :mod:`~memory.service.errors` (errors as JSON
answers), :mod:`~memory.service.process` (a server in a subprocess, for tests and benchmarks);
``ui/static`` is the inspector. May import anything in ``memory`` but ``memory.cli``; never ``eval``.
"""
