"""Admin page UI (committee): accounts (create, role and team, reset password, deactivate, login
throttle unlock), the audit log with filters and CSV export, and a backup download."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from .. import access, clock, grid, users
from ..access import Actor
from ..db import Database
from ..exports import to_csv_bytes
from . import paging, safe
from .common import attempt, entity_label, lang, show_flash, t
from .login_throttle import account_throttle, throttled_list

PAGE_SIZE = 50
AUDIT_EXPORT_MAX = 20_000


def render(db: Database, actor: Actor) -> None:
    show_flash()
    team_names = dict(users.teams(db, actor))
    tab_users, tab_new, tab_audit, tab_backup = st.tabs(
        [t("admin.tab_users"), t("admin.tab_new"), t("admin.tab_audit"), t("admin.tab_backup")]
    )
    with tab_users:
        accounts(db, actor, team_names)
    with tab_new:
        new_account(db, actor, team_names)
    with tab_audit:
        audit(db, actor)
    with tab_backup:
        backup(db, actor)


def role_label(role: str) -> str:
    return t(f"role.{role}")


def team_label(team_id, names: dict) -> str:
    return "—" if team_id is None else names.get(team_id, str(team_id))


def _team_choice(team_names: dict, value) -> str:
    return t("admin.no_team") if value is None else team_names[value]


# -- accounts -------------------------------------------------------------------------------------
def accounts(db: Database, actor: Actor, team_names: dict) -> None:
    throttled_list(db, actor)
    c1, c2 = st.columns(2)
    query = c1.text_input(t("admin.search"), placeholder=t("admin.search_hint"), key="adm_q")
    role = c2.selectbox(
        t("admin.role"),
        [None, *access.ROLES],
        key="adm_role",
        format_func=lambda r: t("common.all") if r is None else role_label(r),
    )
    total = users.count_users(db, actor, query=query, role=role)
    offset = (paging.pager(total, PAGE_SIZE, "adm_users_page") - 1) * PAGE_SIZE
    frame = users.list_users(db, actor, query=query, role=role, limit=PAGE_SIZE, offset=offset)
    if frame.empty:
        st.info(t("common.none"))
        return
    st.dataframe(users_table(frame, team_names), hide_index=True, width="stretch")
    names = frame.set_index("username")["display_name"]
    picked = st.selectbox(
        t("admin.pick_user"), frame["username"].tolist(), key="adm_pick", format_func=lambda u: f"{u} · {names[u]}"
    )
    user = attempt(lambda: users.user_detail(db, actor, picked))
    if user:
        account_panel(db, actor, user, team_names)


def users_table(frame: pd.DataFrame, team_names: dict) -> pd.DataFrame:
    """The account list as shown: role and team by name, status with the temporary-password mark."""
    shown = frame.assign(
        role=frame["role"].map(role_label),
        team_id=frame["team_id"].map(lambda v: team_label(None if v != v else int(v), team_names)),
        active=frame.apply(
            lambda r: (
                (t("admin.status_active") if r["active"] else t("admin.status_inactive"))
                + (" · " + t("admin.temp_pw_short") if r["must_change_password"] else "")
            ),
            axis=1,
        ),
    )[["username", "display_name", "role", "team_id", "active"]]
    shown.columns = [t("admin.username"), t("admin.display_name"), t("admin.role"), t("admin.team"), t("common.status")]
    return shown


def account_panel(db: Database, actor: Actor, user: dict, team_names: dict) -> None:
    """One account: who it is, its units, the login throttle on it, the edit form and the buttons."""
    st.subheader(f"{safe.md(user['display_name'])} ({safe.md(user['username'])})")
    status = t("admin.status_active") if user["active"] else t("admin.status_inactive")
    st.markdown(f"**{role_label(user['role'])}** · {safe.md(team_label(user['team_id'], team_names))} · {status}")
    if user["units"]:
        st.caption(t("admin.units") + ": " + "、".join(grid.unit_label(b, u, lang()) for _, b, u in user["units"]))
    if user["must_change_password"]:
        st.caption(t("admin.must_change"))
    account_throttle(db, actor, user["username"])
    edit_form(db, actor, user, team_names)
    account_buttons(db, actor, user)


def edit_form(db: Database, actor: Actor, user: dict, team_names: dict) -> None:
    """Role, team and display name. A team chosen with a compound-wide role is dropped by users.py."""
    with st.form(f"adm_edit_{user['username']}"):
        st.markdown(f"**{t('admin.change_role')}**")
        new_role = st.selectbox(t("admin.role"), access.ROLES, index=access.ROLES.index(user["role"]), format_func=role_label)
        options = [None, *team_names]
        new_team = st.selectbox(
            t("admin.team"),
            options,
            index=options.index(user["team_id"]) if user["team_id"] in options else 0,
            format_func=lambda v: _team_choice(team_names, v),
            help=t("admin.team_help"),
        )
        new_name = st.text_input(
            t("admin.display_name"), value=user["display_name"], max_chars=max(users.MAX_DISPLAY_NAME, len(user["display_name"]))
        )
        save = st.form_submit_button(t("common.save"), type="primary", width="stretch")
    if save and attempt(
        lambda: (
            users.update_user(
                db,
                actor,
                user["username"],
                role=new_role,
                team_id=new_team,
                display_name=new_name,
                expected_version=user["version"],
            )
            or True
        ),
        t("common.saved"),
    ):
        st.rerun()


def account_buttons(db: Database, actor: Actor, user: dict) -> None:
    """Reset the password (the temporary one shown once) and deactivate or reactivate."""
    b1, b2 = st.columns(2)
    if b1.button(t("admin.reset_password"), key="adm_reset", width="stretch"):
        temp = attempt(lambda: users.reset_password(db, actor, user["username"], expected_version=user["version"]))
        if temp:
            st.success(t("admin.temp_password_shown_once", username=user["username"]), icon=":material/key:")
            st.code(temp, language=None)
    label, key = ("admin.deactivate", "adm_deactivate") if user["active"] else ("admin.reactivate", "adm_reactivate")
    if b2.button(t(label), key=key, width="stretch") and attempt(
        lambda: (
            users.update_user(db, actor, user["username"], active=not user["active"], expected_version=user["version"]) or True
        ),
        t("common.saved"),
    ):
        st.rerun()


# -- new account ----------------------------------------------------------------------------------
def new_account(db: Database, actor: Actor, team_names: dict) -> None:
    with st.form("adm_create", clear_on_submit=False):
        username = st.text_input(t("admin.username"), help=t("error.username_format"))
        display_name = st.text_input(t("admin.display_name"), max_chars=users.MAX_DISPLAY_NAME)
        role = st.selectbox(t("admin.role"), access.ROLES, index=access.ROLES.index("member"), format_func=role_label)
        team = st.selectbox(
            t("admin.team"), [None, *team_names], format_func=lambda v: _team_choice(team_names, v), help=t("admin.team_help")
        )
        create = st.form_submit_button(t("admin.create"), type="primary", width="stretch")
    if not create:
        return
    temp = attempt(lambda: users.create_user(db, actor, username, display_name, role, team_id=team))
    if temp:
        name = username.strip().lower()
        st.success(t("admin.created", username=name), icon=":material/check_circle:")
        st.info(t("admin.temp_password_shown_once", username=name), icon=":material/key:")
        st.code(temp, language=None)


# -- audit log ------------------------------------------------------------------------------------
def audit(db: Database, actor: Actor) -> None:
    actors, entities = users.audit_choices(db, actor)
    c1, c2 = st.columns(2)
    who = c1.selectbox(
        t("admin.audit_user"), [None, *actors], key="adm_audit_user", format_func=lambda v: t("common.all") if v is None else v
    )
    entity = c2.selectbox(
        t("admin.audit_entity"),
        [None, *entities],
        key="adm_audit_entity",
        format_func=lambda v: t("common.all") if v is None else entity_label(v),
    )
    today = db.today()
    c3, c4 = st.columns(2)
    since = c3.date_input(t("admin.audit_since"), value=today - timedelta(days=30), key="adm_audit_since")
    until = c4.date_input(t("admin.audit_until"), value=today, key="adm_audit_until")
    if since and until and since > until:
        st.error(t("admin.error_dates"))
        return
    total = users.audit_count(db, actor, who, entity, since, until)
    offset = (paging.pager(total, PAGE_SIZE, "adm_audit_page") - 1) * PAGE_SIZE
    log = users.audit_log(db, actor, who, entity, since, until, limit=PAGE_SIZE, offset=offset)
    if log.empty:
        st.info(t("common.none"))
        return
    st.dataframe(audit_table(log), hide_index=True, width="stretch")
    if total > AUDIT_EXPORT_MAX:
        st.caption(t("admin.audit_export_cap", n=AUDIT_EXPORT_MAX))
    if st.button(t("admin.audit_prepare_csv"), key="adm_audit_csv_prepare", width="stretch"):
        export = users.audit_log(db, actor, who, entity, since, until, limit=AUDIT_EXPORT_MAX)
        st.download_button(
            t("common.export_csv"),
            to_csv_bytes(export),
            f"audit_{since}_{until}.csv",
            "text/csv",
            key="adm_audit_csv",
            width="stretch",
            type="primary",
            on_click="ignore",
        )


def audit_table(log: pd.DataFrame) -> pd.DataFrame:
    """Audit rows as shown: Shanghai time, translated headers, no row id."""
    log = log.assign(
        ts=log["ts"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M:%S"), entity=log["entity"].map(entity_label)
    )
    return log.drop(columns=["id"]).rename(
        columns={
            "ts": t("common.time"),
            "actor": t("admin.audit_user"),
            "action": t("admin.audit_action"),
            "entity": t("admin.audit_entity"),
            "entity_id": "ID",
            "before": t("admin.audit_before"),
            "after": t("admin.audit_after"),
        }
    )


# -- backup ---------------------------------------------------------------------------------------
def backup(db: Database, actor: Actor) -> None:
    """The whole database as a signed zip, built on request; the download is logged."""
    st.caption(t("admin.backup_help"))
    if not (access.can(actor, "backup.download") and st.button(t("admin.backup_prepare"), key="adm_backup", width="stretch")):
        return
    try:
        from ..backup import backup_zip
    except ImportError:
        st.info(t("admin.backup_unavailable"))
        return
    data = attempt(lambda: backup_zip(db))
    if data:
        users.log_view(db, actor, "database", db.path, what="backup")
        stamp = clock.real_now().strftime("%Y%m%d-%H%M")
        st.download_button(
            t("admin.backup_download"),
            data,
            f"qinyuan-backup-{stamp}.zip",
            "application/zip",
            key="adm_backup_dl",
            width="stretch",
            type="primary",
            on_click="ignore",
        )
