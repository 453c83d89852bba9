"""The HTTP yardstick: a bare Flask endpoint that parses the same JSON as
POST /v1/transfers and answers 201 — no database, no auth, no schema."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/v1/transfers")
def create_transfer():
    body = request.get_json()
    return jsonify(status="posted", amount=body["amount"]), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
