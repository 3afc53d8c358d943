"""Errors as JSON: `{"error": {"code": ..., "message": ...}, "request_id": ...}` with a stable code.

Decode failures keep the codes of `vidtype.errors` (`not_a_video`, `decode_error`, `decode_timeout`,
`video_too_large`); HTTP-level failures use the status's name (`not_found`, `payload_too_large`, ...).
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import VidtypeError

log = logging.getLogger(__name__)

# HTTP status of each vidtype error code; other VidtypeErrors are 422 (the input cannot be classified).
STATUS = {
    "video_too_large": 413,
    "model_not_found": 503,
    "weights_missing": 503,
}


class ApiError(Exception):
    """A refusal with an HTTP status, a stable code and a message for the person who sent the request."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    body = {"error": {"code": code, "message": message}, "request_id": g.get("request_id")}
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def vidtype_error_status(exc: VidtypeError) -> int:
    return getattr(exc, "status", None) or STATUS.get(exc.code, 422)


def register(app: Flask) -> None:
    """Install JSON handlers for API errors, vidtype errors, HTTP errors and bugs."""

    @app.errorhandler(ApiError)
    def _api(e: ApiError):
        return error_response(e.status, e.code, e.message, e.headers)

    @app.errorhandler(VidtypeError)
    def _vidtype(e: VidtypeError):
        return error_response(vidtype_error_status(e), e.code, str(e))

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = (e.name or "http_error").lower().replace(" ", "_").replace("-", "_")
        message = e.description or e.name
        if e.code == 413:
            code, message = "upload_too_large", f"the request is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        headers = {k: v for k, v in e.get_headers() if k.lower() in ("allow", "retry-after")}
        return error_response(e.code or 500, code, message, headers)

    @app.errorhandler(Exception)
    def _bug(e: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", f"internal error ({type(e).__name__}); see the server log")
