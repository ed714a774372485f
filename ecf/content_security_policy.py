"""Content-Security-Policy on the pages people open in a browser: the back office and the API docs.

Scripts only from our own origin (no inline script, no eval), so an injected `<script>` or
`javascript:` link does nothing; nothing may frame the pages; forms post only to us. Styles allow
`'unsafe-inline'`: Swagger UI and the admin set style attributes, and a style cannot run code.
Swagger UI is served as SpectacularSwaggerSplitView, whose start-up script is a file of its own.
"""

from django.conf import settings

PAGES = ("/admin/", "/api/docs/")
POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(PAGES) and not response.has_header("Content-Security-Policy"):
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response
