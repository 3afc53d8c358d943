"""The OpenAPI document of the routes, kept as a static file beside this module (openapi.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, jsonify

from .. import __version__

bp = Blueprint("openapi", __name__)
DOCUMENT = Path(__file__).with_name("openapi.json")


@lru_cache(maxsize=1)
def document() -> dict:
    doc = json.loads(DOCUMENT.read_text())
    doc["info"]["version"] = __version__
    return doc


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
