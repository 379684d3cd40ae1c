"""The operator dashboard at /dashboard: HTML pages rendered on the server.

One module per page (overview, capacity, decisions, hosts, explain), the
browser session (`session`: token cookie, CSRF, the same authenticator as the
API), the page renderer (`render`: Jinja2 templates, the Content-Security-Policy)
and the vendored static files (`static`: htmx, pinned, and the style sheet).
Every page reads through the layers the API handlers use and checks the
policy rule `scheduler:dashboard:view` (admin by default).
"""
