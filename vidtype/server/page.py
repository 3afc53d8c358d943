"""The web page: upload a file or paste a URL, see the label, the probabilities, the trust and the frames."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("page", __name__)


@bp.get("/")
def index():
    return render_template("index.html", token_required=bool(current_app.config.get("TOKEN")))
