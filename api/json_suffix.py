"""The original service accepts a `.json` suffix on every API path, and it changes nothing
(api.md §1): `/api/v1/participants/ecf.json` is `/api/v1/participants/ecf`. The suffix is taken off
before the URL is resolved, so every route, filter and error behaves exactly as without it. The
schema documents are the exception: `schema.json` is their real name."""

SUFFIX = ".json"
KEEP = ("/schema.json",)


class JsonSuffixMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and path.endswith(SUFFIX) and not path.endswith(KEEP):
            request.path_info = path[: -len(SUFFIX)]
        return self.get_response(request)
