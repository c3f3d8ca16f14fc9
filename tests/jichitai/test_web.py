"""Web pages: the home page shows what needs action."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.helpers import IMIZU, add_machiaza, bearer, web_login


def test_home_shows_register_alerts_and_continuity(client: TestClient, state, demo) -> None:
    add_machiaza(state, IMIZU, [("162116-0001", "大門", "ダイモン")])
    late = client.post(
        "/api/v1/residents/move-in",
        headers=bearer(state, IMIZU, "clerk"),
        json={
            "effective_on": (dt.date.today() - dt.timedelta(days=40)).isoformat(),
            "persons": [
                {
                    "family_name": "遅延",
                    "given_name": "届",
                    "family_name_kana": "チエン",
                    "given_name_kana": "トドケ",
                    "birth_date": "昭和55年5月5日",
                    "sex": "male",
                    "relationship": "世帯主",
                }
            ],
            "address": {"machiaza_code": "162116-0001", "banchi": "3番地"},
            "previous_address": "新潟県新潟市中央区学校町通1番町602番地1",
        },
    )
    assert late.status_code == 201, late.text
    web_login(client, IMIZU, "clerk")
    home = client.get("/")
    assert home.status_code == 200
    assert "【届出期間経過】" in home.text
    assert "26日過ぎています" in home.text
