"""Tenancy services: mutual aid and continuity mode."""

from __future__ import annotations

import pytest

from core import audit
from core.errors import ValidationFailed
from core.uow import UnitOfWork
from tenancy import repository as repo
from tenancy import service


def test_mutual_aid_only_while_the_stricken_member_is_in_continuity_mode(state, demo) -> None:
    actor = audit.Actor.system("tests")
    with UnitOfWork(state.session_factory) as uow:
        s = uow.session
        imizu = service.require_municipality(s, "162116")
        funahashi = service.require_municipality(s, "163210")
        assert imizu.id in repo.agreement_partners(s, funahashi.id)
        assert not service.may_act_for(s, imizu.id, funahashi.id)
        service.declare_continuity(s, "163210", "地震", actor)
        assert service.may_act_for(s, imizu.id, funahashi.id)
        # Not the other way round: 射水市 is not stricken.
        assert not service.may_act_for(s, funahashi.id, imizu.id)
        service.end_continuity(s, "163210", actor)
        assert not service.may_act_for(s, imizu.id, funahashi.id)
        uow.rollback()


def test_an_outsider_cannot_join_an_agreement(state, demo) -> None:
    from tests.helpers import new_tenant

    tid = new_tenant(state, "外部村")
    with UnitOfWork(state.session_factory) as uow:
        s = uow.session
        group = repo.group_by_name(s, "富山県情報システム共同利用推進協議会")
        assert group is not None
        outsider = repo.municipality_by_id(s, tid)
        assert outsider is not None
        imizu = service.require_municipality(s, "162116")
        with pytest.raises(ValidationFailed) as caught:
            service.conclude_agreement(
                s,
                group,
                "不正な協定",
                [imizu, outsider],
                imizu.created_at.date(),
                audit.Actor.system("tests"),
            )
        assert caught.value.error_code == "not_group_member"
        assert "構成団体ではありません" in caught.value.message
