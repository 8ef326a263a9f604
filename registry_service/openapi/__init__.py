"""The typed description of the HTTP surface: request and response models, security schemes,
and the locally served docs UI.

Handlers read raw bodies on purpose (authentication and size limits run before any parsing),
so the request models here only *describe* bodies in /openapi.json (``openapi_extra``); they
are never used to parse a request. Keeping them in their own modules lets the routers stay
declarations plus handler logic, and lets tests and fuzzers (schemathesis) hold the service to
its own document.
"""
