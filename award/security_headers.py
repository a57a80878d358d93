"""Security headers on every response (docs/security.md, "Requests and pages").

The Content-Security-Policy allows scripts, styles and images only from this site: the templates carry
no inline ``<script>``, no ``on*=`` handler and no ``style=`` attribute (tests/security/test_request_safety.py
checks the templates; tests/browser/test_csp_journeys.py checks the pages in Chromium).
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",  # no page uses <base>; ASVS 5.0 3.4.3 asks for 'none'
    "form-action 'self'",
])

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Two years, the subdomains too: sent only over HTTPS (RFC 6797 8.1: ignored over plain HTTP anyway,
# and a plain-HTTP demo on localhost must not pin the browser to HTTPS).
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
