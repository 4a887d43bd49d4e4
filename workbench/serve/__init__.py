"""``workbench serve``: the annotate and review apps in a browser, one app process per tab.

:mod:`workbench.serve.server` puts a login layer in front of ``textual-serve`` (an optional
dependency: ``pip install 'report-workbench[serve]'``): a per-person access token (table
``users``, :mod:`workbench.store.users`) opens a server-side session; the session alone decides
which app runs and under which name. Nothing the browser sends (URL, query, form, messages)
names the annotator.
"""
