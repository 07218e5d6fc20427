"""The app behind Streamlit's ASGI entry point (st.App), only to send the security headers that
`streamlit run app.py` cannot: no framing by other sites, no MIME sniffing. Framing by the app itself
stays allowed (SAMEORIGIN, frame-ancestors 'self'): Streamlit components, among them the one that sets
the login cookie, are same-origin iframes, and DENY or 'none' leaves the page loading forever.
Run it like app.py: `streamlit run serve.py` (or `uvicorn serve:app`); a reverse proxy can send the
headers instead (README)."""

import streamlit as st
from starlette.middleware import Middleware

HEADERS = [
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding HEADERS to every HTTP response (the WebSocket is left alone)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


app = st.App("app.py", middleware=[Middleware(SecurityHeaders)])
