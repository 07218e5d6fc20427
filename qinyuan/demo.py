"""The demo world of the 沁园红 record (2022-01-10). The record's figures live here and only here:
everything the app shows is counted from the rows this module writes."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any

import bcrypt
import pandas as pd

from . import clock
from .db import Database

DEMO_DATE = date(2022, 1, 10)
DEMO_PASSWORD = "qinyuan2022"
SEED = 20220110

# -- figures of the record ----------------------------------------------------------------------
BUILDINGS = 17  # 17 buildings x 3 units = 51 building units, one team each
UNITS_PER_BUILDING = 3
MEMBERS = 338  # 队员 (captains come on top)
DUTY_PERSON_TIMES = 122  # completed cadre gate/patrol shifts
MEDICINE_HOUSEHOLDS = 108  # households that got medicine to the door
CARRIERS = 33  # the supplies-carrying squad
SUPPLIERS = ["陕西农垦", "新苗商贸", "臻容食品"]
TEST_ROUNDS = [date(2021, 12, 31), date(2022, 1, 3), date(2022, 1, 6)]
FIRST_BATCH_DAY = date(2022, 1, 3)  # 1,500+ portions, 07:00-17:00, every household
SECOND_BATCH_DAY = date(2022, 1, 9)
SECOND_BATCH_WAITING = 12  # households still waiting for the second batch
SUPPLIES = [  # code, zh, en, unit, quantity moved in
    ("surgical_masks", "医用外科口罩", "Surgical masks", "只", 300_000),
    ("n95_masks", "N95口罩", "N95 masks", "个", 61_200),
    ("protective_suits", "防护服", "Protective suits", "套", 1_060),
    ("hand_sanitizer_cases", "免洗消毒液", "Hand sanitiser", "箱", 84),
    ("sanitizer_gel_bottles", "免洗手消毒凝胶", "Sanitiser gel", "瓶", 5_010),
    ("disinfectant_84_kg", "84消毒液", "84 disinfectant", "公斤", 1_200),
    ("grain_oil_portions", "米面油", "Rice, flour and oil", "份", 800),
]
RECORD_CAPTAINS = {7: "郭凌华", 12: "任喜伟"}
RECORD_MEMBERS = ["杜新胜", "刘国俊", "王芳", "李道明"]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰海燕鹏飞宇浩然晨曦思远子涵欣怡梓萱雨泽博文嘉怡俊杰佳琪一诺晓东新胜国俊道明凌喜"
DEPARTMENTS = [
    "经济与管理学院",
    "食品科学与工程学院",
    "机电工程学院",
    "化学与化工学院",
    "教务处",
    "后勤处",
    "组织部",
    "材料科学与工程学院",
    "电气与控制工程学院",
    "轻工科学与工程学院",
    "图书馆",
    "校医院",
]
PREFIXES = ["138", "139", "135", "136", "137", "150", "151", "152", "158", "159", "182", "187", "188", "133", "153", "180", "189"]

# One row to insert: column -> value (the columns' types differ, so the values are Any).
Row = dict[str, Any]


class Names:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def person(self) -> str:
        given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.7 else "")
        return self.rng.choice(SURNAMES) + given

    def mobile(self) -> str:
        return self.rng.choice(PREFIXES) + f"{self.rng.randrange(10**8):08d}"


def _insert(cur, table: str, rows: list[Row]) -> None:
    if not rows:
        return
    frame = pd.DataFrame(rows)
    columns = ", ".join(frame.columns)
    with cur.frame("_rows", frame):
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _rows")


def unit_label(building: int, unit_no: int) -> str:
    return f"{building}-{unit_no}"


def build(db: Database, scale: int = 1) -> None:
    """Write the demo world into an empty, migrated database."""
    rng = random.Random(SEED)
    names = Names(rng)
    tz = clock.TZ
    with db.bulk() as cur:
        _build(cur, rng, names, tz)
        _continue_numbering(cur)
        cur.execute(
            "INSERT INTO settings VALUES ('demo_date', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [DEMO_DATE.isoformat()],
        )
        cur.execute("INSERT INTO settings VALUES ('kind', 'demo') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        cur.execute(
            "INSERT INTO audit_log (ts, actor, action, entity, entity_id, before, after) VALUES (?, 'system', 'demo.build', 'database', NULL, NULL, ?)",
            [clock.at(DEMO_DATE, 0), json.dumps({"seed": SEED, "scale": scale})],
        )
    if scale > 1:
        from .scale import replicate

        replicate(db, scale)
    _door_world(db)


# What each vetted supplier offers households at their door (item, pack, yuan), and the clinic's number.
GROCERY_OFFER = {
    1: [("大米", "10kg", 52.0), ("面粉", "5kg", 28.0), ("食用油", "5L", 69.0)],
    2: [("蔬菜套餐", "约5kg", 48.0), ("鸡蛋", "30枚", 32.0), ("猪肉", "1kg", 36.0)],
    3: [("水果套餐", "约3kg", 45.0), ("牛奶", "1箱", 55.0), ("挂面", "2kg", 16.0)],
}
CLINIC_PHONE = "029-85308120"


def _door_world(db: Database) -> None:
    """The door cards' world: every household gets a link (a hash nobody holds until a card is printed),
    the suppliers' current offer and the clinic's phone number."""
    from .door import seed_links

    with db.bulk() as cur:
        offers = [
            {"id": 100 + n, "supplier_id": sid, "item": item, "pack": pack, "price": price}
            for n, (sid, item, pack, price) in enumerate((sid, *row) for sid, rows in GROCERY_OFFER.items() for row in rows)
        ]
        _insert(cur, "grocery_offers", offers)
        cur.execute(
            "INSERT INTO settings VALUES ('clinic_phone', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [CLINIC_PHONE],
        )
    seed_links(db)


# Records people call by number (#122): new ones follow the demo's own.
NUMBERED = {
    "medicine_orders": "medicine_seq",
    "emergency_cases": "case_seq",
    "grocery_orders": "grocery_seq",
    "carrying_tasks": "task_seq",
}


def _continue_numbering(cur) -> None:
    """New orders and cases are numbered after the demo's own (order #123 follows #122, not #100000): each
    sequence restarts just past the highest id written (DuckDB cannot restart one, so it is recreated)."""
    for table, sequence in NUMBERED.items():
        top = int(cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
        if top and top + 1 < int(cur.execute(f"SELECT nextval('{sequence}')").fetchone()[0]):
            cur.execute(f"DROP SEQUENCE {sequence}")
            cur.execute(f"CREATE SEQUENCE {sequence} START {top + 1}")


def _build(cur, rng: random.Random, names: Names, tz) -> None:
    # -- units, teams, volunteers ------------------------------------------------------------
    units: list[Row] = []
    teams: list[Row] = []
    volunteers: list[Row] = []
    for building in range(1, BUILDINGS + 1):
        for unit_no in range(1, UNITS_PER_BUILDING + 1):
            uid = (building - 1) * UNITS_PER_BUILDING + unit_no
            units.append(
                {"id": uid, "building": building, "unit_no": unit_no, "floors": 6 if building <= 6 else 18, "team_id": uid}
            )
    vid = 1
    per_team = [MEMBERS // len(units) + (1 if i < MEMBERS % len(units) else 0) for i in range(len(units))]
    record_members = list(RECORD_MEMBERS)
    for unit in units:
        tid = unit["id"]
        captain_name = RECORD_CAPTAINS.get(tid) or names.person()
        volunteers.append(
            {
                "id": vid,
                "team_id": tid,
                "name": captain_name,
                "phone": names.mobile(),
                "department": rng.choice(DEPARTMENTS),
                "party_member": True,
                "is_captain": True,
                "skills": [],
                "active": True,
                "notes": None,
            }
        )
        teams.append({"id": tid, "name": f"沁园红第{tid}队", "captain_id": vid, "notes": None})
        vid += 1
        for _ in range(per_team[tid - 1]):
            name = record_members.pop(0) if record_members and rng.random() < 0.2 else names.person()
            volunteers.append(
                {
                    "id": vid,
                    "team_id": tid,
                    "name": name,
                    "phone": names.mobile(),
                    "department": rng.choice(DEPARTMENTS),
                    "party_member": rng.random() < 0.92,
                    "is_captain": False,
                    "skills": [],
                    "active": True,
                    "notes": None,
                }
            )
            vid += 1
    members = [v for v in volunteers if not v["is_captain"]]
    for v in rng.sample(members, CARRIERS):
        v["skills"] = ["carrier"]
    for v in rng.sample([m for m in members if not m["skills"]], 20):
        v["skills"] = ["driver"]
    _insert(cur, "units", units)
    _insert(cur, "teams", teams)
    _insert(cur, "volunteers", volunteers)

    # -- users ------------------------------------------------------------------------------
    hashed = bcrypt.hashpw(DEMO_PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    created = clock.at(date(2021, 12, 30), 9)
    users: list[Row] = [
        {"username": "committee", "display_name": "李抗（党委组织部）", "role": "committee"},
        {"username": "medic01", "display_name": "张敏（校医院）", "role": "medic"},
        {"username": "logistics01", "display_name": "陈建国（后勤物业）", "role": "logistics"},
    ]
    captains = {v["team_id"]: v for v in volunteers if v["is_captain"]}
    for tid, v in sorted(captains.items()):
        users.append(
            {
                "username": f"captain{tid:02d}",
                "display_name": v["name"],
                "role": "captain",
                "team_id": tid,
                "volunteer_id": v["id"],
            }
        )
    for n, v in enumerate(members, start=1):
        users.append(
            {
                "username": f"member{n:03d}",
                "display_name": v["name"],
                "role": "member",
                "team_id": v["team_id"],
                "volunteer_id": v["id"],
            }
        )
    for u in users:
        u.setdefault("team_id", None)
        u.setdefault("volunteer_id", None)
        u.update(password_hash=hashed, active=True, must_change_password=False, created_at=created)
    _insert(cur, "users", users)

    # -- households and residents ------------------------------------------------------------
    households: list[Row] = []
    residents: list[Row] = []
    hid, rid = 1, 1
    for unit in units:
        per_floor = 3 if unit["building"] <= 6 else 2
        for floor in range(1, unit["floors"] + 1):
            for door in range(1, per_floor + 1):
                size = rng.choices([1, 2, 3, 4, 5], weights=[14, 33, 29, 17, 7])[0]
                contact = names.person()
                surname = contact[0]
                visit = clock.at(date(2022, 1, rng.randrange(1, 10)), rng.randrange(9, 20), rng.randrange(60))
                households.append(
                    {
                        "id": hid,
                        "unit_id": unit["id"],
                        "room": f"{floor}{door:02d}",
                        "contact_name": contact,
                        "phone": names.mobile(),
                        "occupants": size,
                        "notes": None,
                        "last_visit_at": visit,
                        "last_visit_by": f"captain{unit['id']:02d}",
                    }
                )
                for k in range(size):
                    name = contact if k == 0 else (surname + rng.choice(GIVEN) + rng.choice(GIVEN) if k >= 2 else names.person())
                    age = rng.randrange(30, 92) if k < 2 else rng.randrange(0, 40)
                    tags: list[str] = []
                    due: date | None = None
                    roll = rng.random()
                    if size == 1 and age >= 75:
                        tags.append("elderly_alone")
                    if roll < 0.035:
                        if age >= 50:
                            tags.append("chronic")
                    elif roll < 0.038:
                        tags.append("dialysis")
                    elif roll < 0.041:
                        tags.append("chemo")
                    elif roll < 0.050 and 22 <= age <= 42:
                        tags.append("pregnancy")
                        due = date(2022, rng.randrange(2, 7), rng.randrange(1, 28))
                    elif roll < 0.054 and age <= 1:
                        tags.append("newborn")
                    elif roll < 0.060:
                        tags.append("disability")
                    residents.append(
                        {
                            "id": rid,
                            "household_id": hid,
                            "name": name,
                            "gender": rng.choice(["男", "女"]),
                            "birth_year": 2022 - age,
                            "phone": names.mobile() if age >= 16 else None,
                            "tags": tags,
                            "medical_notes": _medical_note(tags, rng),
                            "due_date": due,
                            "emergency_contact": names.person() + " " + names.mobile() if tags else None,
                            "active": True,
                        }
                    )
                    rid += 1
                hid += 1
    # the record's hypertension patient: elderly, children abroad (team 12's unit)
    patient_household = next(h for h in households if h["unit_id"] == 12 and h["occupants"] >= 2)
    patient = next(r for r in residents if r["household_id"] == patient_household["id"])
    patient.update(
        birth_year=1944, tags=["chronic"], medical_notes="高血压（III级），子女均在国外", emergency_contact="任喜伟（队长）"
    )
    insulin_household = next(h for h in households if h["unit_id"] == 7)
    insulin_resident = next(r for r in residents if r["household_id"] == insulin_household["id"])
    insulin_resident.update(tags=sorted({*insulin_resident["tags"], "chronic"}), medical_notes="1型糖尿病，依赖进口胰岛素")
    _insert(cur, "households", households)
    _insert(cur, "residents", residents)

    treatments = []
    for r in residents:
        if "dialysis" in r["tags"]:
            treatments.append(
                {
                    "resident_id": r["id"],
                    "kind": "dialysis",
                    "weekdays": [1, 3, 5] if r["id"] % 2 else [2, 4, 6],
                    "depart_time": "07:30",
                    "destination": "西安市第三医院血透中心",
                    "notes": None,
                }
            )
        if "chemo" in r["tags"]:
            treatments.append(
                {
                    "resident_id": r["id"],
                    "kind": "chemo",
                    "weekdays": [r["id"] % 5 + 1],
                    "depart_time": "08:00",
                    "destination": "陕西省肿瘤医院",
                    "notes": None,
                }
            )
    _insert(cur, "treatments", treatments)
    census = [
        {
            "household_id": h["id"],
            "visited_at": h["last_visit_at"],
            "visited_by": h["last_visit_by"],
            "occupants": h["occupants"],
            "notes": None,
        }
        for h in households
    ]
    _insert(cur, "census_visits", census)

    # -- testing rounds ------------------------------------------------------------------------
    rounds: list[Row] = []
    slots: list[Row] = []
    results: list[Row] = []
    all_rounds = [*TEST_ROUNDS, DEMO_DATE]
    for n, day in enumerate(all_rounds, start=1):
        status = "completed" if day < DEMO_DATE else "active"
        rounds.append(
            {
                "id": n,
                "round_no": n,
                "day": day,
                "sites": "北门广场;南门停车场",
                "slot_minutes": 30,
                "capacity": 260,
                "start_time": "08:00",
                "status": status,
            }
        )
        for unit in units:
            start = clock.at(day, 8) + timedelta(minutes=30 * ((unit["building"] - 1) // 2))
            slots.append(
                {
                    "round_id": n,
                    "unit_id": unit["id"],
                    "slot_start": start,
                    "site": "北门广场" if unit["building"] % 2 else "南门停车场",
                }
            )
    unit_of = {h["id"]: h["unit_id"] for h in households}
    for n, day in enumerate(all_rounds, start=1):
        for r in residents:
            special = bool({"dialysis", "chemo", "disability", "elderly_alone"} & set(r["tags"]))
            roll = rng.random()
            when: datetime | None = clock.at(day, 8 + rng.randrange(0, 9), rng.randrange(60))
            if day < DEMO_DATE:
                status = ("sampled_at_home" if special else "tested") if roll < 0.955 else ("away" if roll < 0.985 else "exempt")
            else:
                first_buildings = unit_of[r["household_id"]] <= 24
                if first_buildings and roll < 0.8:
                    status = "sampled_at_home" if special else "tested"
                    when = clock.at(day, 8 + rng.randrange(0, 2), rng.randrange(60))
                else:
                    status = "home_sampling_needed" if special else "pending"
                    when = None
            results.append(
                {
                    "round_id": n,
                    "resident_id": r["id"],
                    "status": status,
                    "reason": "外地未返" if status == "away" else ("新生儿" if status == "exempt" else None),
                    "updated_at": when,
                    "updated_by": f"captain{unit_of[r['household_id']]:02d}" if when else None,
                }
            )
    _insert(cur, "test_rounds", rounds)
    _insert(cur, "test_slots", slots)
    _insert(cur, "test_results", results)

    # -- duty posts and shifts -------------------------------------------------------------------
    posts = [
        (1, "gate_north", "gate", "北门值守", "North gate", 2),
        (2, "gate_south", "gate", "南门值守", "South gate", 2),
        (3, "gate_east", "gate", "东侧门值守", "East side gate", 2),
        (4, "patrol_east", "patrol", "东区巡逻劝返", "East patrol", 2),
        (5, "patrol_west", "patrol", "西区巡逻劝返", "West patrol", 2),
        (6, "testing_help", "testing", "核酸检测点协助", "Testing site helpers", 4),
        (7, "delivery", "delivery", "物资配送", "Deliveries", 3),
        (8, "carrying", "carrying", "物资搬运小分队", "Carrying squad", 4),
    ]
    _insert(
        cur,
        "duty_posts",
        [{"id": p[0], "code": p[1], "kind": p[2], "name_zh": p[3], "name_en": p[4], "required": p[5]} for p in posts],
    )
    shifts, assignments = [], []
    sid, aid = 1, 1
    cadre_pool = [v["id"] for v in members]
    rng.shuffle(cadre_pool)
    pool_at = 0
    done = 0
    for day_n in range(1, 10):  # 2022-01-01 .. 2022-01-09: gates and patrols
        day = date(2022, 1, day_n)
        for post in posts[:5]:
            for start_h, end_h in ((8, 13), (13, 18)):
                shifts.append(
                    {
                        "id": sid,
                        "post_id": post[0],
                        "day": day,
                        "start_at": clock.at(day, start_h),
                        "end_at": clock.at(day, end_h),
                    }
                )
                for _ in range(post[5]):
                    if done >= DUTY_PERSON_TIMES or rng.random() < 0.2:
                        continue
                    vol = cadre_pool[pool_at % len(cadre_pool)]
                    pool_at += 1
                    assignments.append(
                        {
                            "id": aid,
                            "shift_id": sid,
                            "volunteer_id": vol,
                            "status": "done",
                            "check_in_at": clock.at(day, start_h) - timedelta(minutes=rng.randrange(0, 15)),
                            "check_out_at": clock.at(day, end_h) + timedelta(minutes=rng.randrange(0, 10)),
                            "handover_note": None,
                            "assigned_by": "committee",
                        }
                    )
                    aid += 1
                    done += 1
                sid += 1
    if done != DUTY_PERSON_TIMES:
        raise RuntimeError("demo duty shifts do not add up")
    team1 = [v["id"] for v in members if v["team_id"] == 1]
    others = [v["id"] for v in members if v["team_id"] != 1]
    rng.shuffle(others)
    busy = iter(others)
    for offset in range(0, 3):  # today and the next two days
        day = DEMO_DATE + timedelta(days=offset)
        for post in posts:
            if post[2] == "testing" and offset > 0:
                continue
            for start_h, end_h in ((8, 13), (13, 18), (18, 22)):
                if post[2] in ("testing", "carrying") and start_h == 18:
                    continue
                shifts.append(
                    {
                        "id": sid,
                        "post_id": post[0],
                        "day": day,
                        "start_at": clock.at(day, start_h),
                        "end_at": clock.at(day, end_h),
                    }
                )
                crew = []
                if post[1] == "gate_north" and start_h == 8 and offset in (0, 2):
                    crew.append(team1[0])  # member001: today and the day after tomorrow, north gate, morning
                wanted = post[5] - (1 if (post[0] + start_h + offset) % 4 == 0 else 0)
                while len(crew) < wanted:
                    crew.append(next(busy))
                for vol in crew:
                    # today's morning crews are at their posts, but member001's north gate crew, left to check in
                    on_post = offset == 0 and start_h == 8 and post[1] != "gate_north"
                    assignments.append(
                        {
                            "id": aid,
                            "shift_id": sid,
                            "volunteer_id": vol,
                            "status": "checked_in" if on_post else "assigned",
                            "check_in_at": clock.at(day, 7, 45 + vol % 20) if on_post else None,
                            "check_out_at": None,
                            "handover_note": None,
                            "assigned_by": "committee",
                        }
                    )
                    aid += 1
                sid += 1
    _insert(cur, "shifts", shifts)
    _insert(cur, "shift_assignments", assignments)

    # -- medicine --------------------------------------------------------------------------------
    orders, events = [], []
    oid = 1
    medicines = [
        "硝苯地平控释片 30mg ×2盒",
        "二甲双胍片 0.5g ×3盒",
        "阿托伐他汀钙片 20mg ×1盒",
        "布洛芬缓释胶囊 0.3g ×1盒",
        "复方丹参滴丸 ×2瓶",
        "氯沙坦钾片 50mg ×2盒",
        "阿司匹林肠溶片 100mg ×1盒",
        "连花清瘟胶囊 ×2盒",
    ]
    served = rng.sample([h for h in households if h["id"] != insulin_household["id"]], MEDICINE_HOUSEHOLDS - 1)
    served.append(insulin_household)
    steps = ["requested", "sourcing", "purchased", "at_gate", "disinfected", "delivered"]
    actors = {
        "requested": None,
        "sourcing": "medic01",
        "purchased": "medic01",
        "at_gate": "logistics01",
        "disinfected": "logistics01",
        "delivered": None,
    }

    def add_order(house, created, upto, urgency, items, source, channel, resident_id=None, hours=None):
        nonlocal oid
        captain = f"captain{house['unit_id']:02d}"
        at = created
        last = steps.index(upto)
        gap = hours or rng.uniform(4, 30)
        for i, step in enumerate(steps[: last + 1]):
            if i:
                at = at + timedelta(hours=gap / last)
            events.append(
                {
                    "order_id": oid,
                    "from_status": steps[i - 1] if i else None,
                    "to_status": step,
                    "ts": at,
                    "actor": actors[step] or captain,
                    "note": None,
                }
            )
        orders.append(
            {
                "id": oid,
                "household_id": house["id"],
                "resident_id": resident_id,
                "items": json.dumps(items, ensure_ascii=False),
                "channel": channel,
                "urgency": urgency,
                "source": source,
                "notes": None,
                "status": upto,
                "reason": None,
                "placed_by": captain,
                "created_at": created,
                "updated_at": at,
                "updated_by": actors[upto] or captain,
                "delivered_at": at if upto == "delivered" else None,
            }
        )
        oid += 1

    for house in served:
        created = clock.at(date(2022, 1, rng.randrange(1, 9)), rng.randrange(8, 20), rng.randrange(60))
        if house is insulin_household:
            add_order(
                house,
                clock.at(date(2022, 1, 5), 10, 20),
                "delivered",
                "critical",
                ["进口胰岛素（门冬胰岛素）300IU ×3支"],
                "校医院代购",
                "phone",
                insulin_resident["id"],
                hours=20,
            )
            continue
        items = rng.sample(medicines, rng.randrange(1, 3))
        add_order(
            house,
            created,
            "delivered",
            rng.choices(["normal", "urgent"], [5, 1])[0],
            items,
            rng.choice(["大药房", "校医院代购", "老百姓大药房"]),
            rng.choice(["online", "phone", "captain"]),
        )
    open_states = ["requested", "requested", "sourcing", "purchased", "at_gate", "disinfected"]
    open_houses = [h for h in households if h["unit_id"] == 1][:2] + rng.sample(households, 12)
    for n, house in enumerate(open_houses):
        upto = "disinfected" if n == 1 else open_states[n % len(open_states)]
        urgency = "urgent" if n in (0, 5, 9) else ("critical" if n == 7 else "normal")
        created = clock.at(DEMO_DATE, 0) - timedelta(hours=rng.uniform(2, 30))
        add_order(
            house,
            created,
            upto,
            urgency,
            rng.sample(medicines, 1),
            "大药房",
            rng.choice(["online", "phone"]),
            hours=rng.uniform(1, 6),
        )
    _insert(cur, "medicine_orders", orders)
    _insert(cur, "medicine_events", events)

    # -- emergency cases ---------------------------------------------------------------------------
    cases, case_events = [], []
    timeline = [
        (datetime(2022, 1, 4, 20, 30), "reported", "captain12", "高压220，胸闷气短"),
        (datetime(2022, 1, 4, 20, 35), "clinic_contacted", "captain12", "已联系校医院"),
        (datetime(2022, 1, 4, 21, 10), "treated_on_site", "medic01", "校医院上门处置，血压回落至170"),
        (datetime(2022, 1, 5, 14, 40), "transfer_advised", "medic01", "病情再次加重，建议转院"),
        (datetime(2022, 1, 5, 14, 50), "exit_permit_requested", "captain12", "联系社区办理出门手续"),
        (datetime(2022, 1, 5, 15, 20), "exit_permit_granted", "committee", None),
        (datetime(2022, 1, 5, 15, 25), "escort_assigned", "captain12", "任喜伟陪同，医院仅允许一人陪护"),
        (datetime(2022, 1, 5, 15, 40), "left_for_hospital", "captain12", "救护车接走，家属陪同"),
        (datetime(2022, 1, 5, 16, 20), "at_hospital", "captain12", None),
        (datetime(2022, 1, 6, 8, 30), "returned", "captain12", "经社区同意，队长开车接回"),
        (datetime(2022, 1, 6, 9, 0), "closed", "captain12", "患者情况稳定"),
    ]
    cases.append(
        {
            "id": 1,
            "household_id": patient_household["id"],
            "resident_id": patient["id"],
            "summary": "高血压患者夜间高压220，伴胸闷气短",
            "vitals": "BP 220/120",
            "severity": "critical",
            "status": "closed",
            "reported_at": timeline[0][0].replace(tzinfo=tz),
            "reported_by": "captain12",
            "last_event_at": timeline[-1][0].replace(tzinfo=tz),
            "closed_at": timeline[-1][0].replace(tzinfo=tz),
        }
    )
    for at, kind, by, note in timeline:
        case_events.append({"case_id": 1, "kind": kind, "ts": at.replace(tzinfo=tz), "actor": by, "note": note})
    open_cases = [
        (5, "critical", "老人摔倒，意识清醒，右腿疼痛无法站立", "BP 150/90", [("reported", -5.0), ("clinic_contacted", -4.8)]),
        (20, "urgent", "孕妇（36周）腹痛", None, [("reported", -9.0)]),
        (
            33,
            "routine",
            "慢病患者头晕，需测量血压",
            "BP 160/95",
            [("reported", -3.0), ("clinic_contacted", -2.5), ("treated_on_site", -2.0)],
        ),
    ]
    for case_id, (unit_id, severity, summary, vitals, evs) in enumerate(open_cases, start=2):
        house = next(h for h in households if h["unit_id"] == unit_id)
        res = next(r for r in residents if r["household_id"] == house["id"])
        times = [clock.at(DEMO_DATE, 7) + timedelta(hours=h) for _, h in evs]
        cases.append(
            {
                "id": case_id,
                "household_id": house["id"],
                "resident_id": res["id"],
                "summary": summary,
                "vitals": vitals,
                "severity": severity,
                "status": evs[-1][0],
                "reported_at": times[0],
                "reported_by": f"captain{unit_id:02d}",
                "last_event_at": times[-1],
                "closed_at": None,
            }
        )
        for (kind, _), at in zip(evs, times, strict=True):
            case_events.append(
                {
                    "case_id": case_id,
                    "kind": kind,
                    "ts": at,
                    "actor": "medic01" if kind in ("treated_on_site",) else f"captain{unit_id:02d}",
                    "note": None,
                }
            )
    _insert(cur, "emergency_cases", cases)
    _insert(cur, "emergency_events", case_events)

    # -- suppliers, groceries ------------------------------------------------------------------------
    _insert(
        cur,
        "suppliers",
        [
            {"id": n, "name": name, "vetted": True, "contact": names.person(), "phone": names.mobile()}
            for n, name in enumerate(SUPPLIERS, start=1)
        ],
    )
    groceries, grocery_events = [], []
    gsteps = ["ordered", "at_gate", "disinfected", "handed_out"]
    for gid in range(1, 61):
        house = rng.choice(households)
        day = date(2022, 1, rng.randrange(2, 11))
        created = clock.at(day, rng.randrange(7, 11), rng.randrange(60))
        gap = timedelta(hours=2)
        if day == DEMO_DATE:  # today's orders came in 07:00-08:00 and moved on every half hour, before the clock opens
            created, gap = clock.at(day, 7) + (created - clock.at(day, 7)) / 4, timedelta(minutes=30)
        upto = "handed_out" if day < DEMO_DATE else gsteps[gid % 3]
        at = created
        for i, step in enumerate(gsteps[: gsteps.index(upto) + 1]):
            if i:
                at = at + gap
            grocery_events.append(
                {
                    "order_id": gid,
                    "from_status": gsteps[i - 1] if i else None,
                    "to_status": step,
                    "ts": at,
                    "actor": "logistics01" if i else f"captain{house['unit_id']:02d}",
                }
            )
        groceries.append(
            {
                "id": gid,
                "supplier_id": gid % 3 + 1,
                "household_id": house["id"],
                "unit_id": house["unit_id"],
                "items": rng.choice(["蔬菜套餐A（10斤）", "蔬菜套餐B（15斤）", "鸡蛋30枚", "米面油组合"]),
                "status": upto,
                "created_at": created,
                "created_by": f"captain{house['unit_id']:02d}",
                "updated_at": at,
                "updated_by": "logistics01",
            }
        )
    _insert(cur, "grocery_orders", groceries)
    _insert(cur, "grocery_events", grocery_events)

    # -- donated vegetables ----------------------------------------------------------------------------
    _insert(
        cur,
        "donation_batches",
        [
            {"id": 1, "donor": "西安市政府爱心蔬菜", "item": "爱心蔬菜包", "portions": len(households), "day": FIRST_BATCH_DAY},
            {
                "id": 2,
                "donor": "岚皋县嘉瑞祥农产品开发有限公司",
                "item": "爱心蔬菜包",
                "portions": len(households),
                "day": SECOND_BATCH_DAY,
            },
        ],
    )
    deliveries = []
    order = sorted(households, key=lambda h: (h["unit_id"], h["room"]))
    span = 10 * 3600
    for n, house in enumerate(order):
        at = clock.at(FIRST_BATCH_DAY, 7) + timedelta(seconds=int(span * n / len(order)) + rng.randrange(0, 60))
        deliveries.append(
            {
                "batch_id": 1,
                "household_id": house["id"],
                "portions": 1,
                "delivered_at": at,
                "delivered_by": f"captain{house['unit_id']:02d}",
            }
        )
    waiting = {h["id"] for h in [h for h in order if h["unit_id"] == 1][-4:]}
    waiting |= {h["id"] for h in rng.sample([h for h in order if h["unit_id"] != 1], SECOND_BATCH_WAITING - len(waiting))}
    for n, house in enumerate(order):
        if house["id"] in waiting:
            continue
        at = clock.at(SECOND_BATCH_DAY, 8) + timedelta(seconds=int(9 * 3600 * n / len(order)))
        deliveries.append(
            {
                "batch_id": 2,
                "household_id": house["id"],
                "portions": 1,
                "delivered_at": at,
                "delivered_by": f"member{(house['unit_id'] * 6) % 338 + 1:03d}",
            }
        )
    _insert(cur, "donation_deliveries", deliveries)

    # -- supplies moved by the carrying squad -------------------------------------------------------------
    supply_items: list[Row] = []
    movements: list[Row] = []
    tasks: list[Row] = []
    for n, (code, zh, en, measure, qty) in enumerate(SUPPLIES, start=1):
        supply_items.append({"id": n, "code": code, "name_zh": zh, "name_en": en, "unit": measure})
        parts = [qty // 2, qty - qty // 2] if qty >= 100 else [qty]
        for k, part in enumerate(parts):
            movements.append(
                {
                    "item_id": n,
                    "quantity": float(part),
                    "counterparty": "校疫情防控办",
                    "ts": clock.at(date(2022, 1, 2 + 3 * k), 9 + n),
                    "actor": "logistics01",
                    "note": "搬运小分队入库",
                }
            )
        movements.append(
            {
                "item_id": n,
                "quantity": -float(max(1, qty // 5)),
                "counterparty": "各楼栋单元",
                "ts": clock.at(date(2022, 1, 8), 14),
                "actor": "logistics01",
                "note": "发放",
            }
        )
        tasks.append(
            {
                "id": n,
                "description": f"{zh}入库搬运",
                "item_id": n,
                "quantity": float(qty),
                "from_place": "北门卸货区",
                "to_place": "物资仓库",
                "assignees": "搬运小分队",
                "status": "done",
                "created_at": clock.at(date(2022, 1, 2), 8),
                "done_at": clock.at(date(2022, 1, 5), 18),
                "done_by": "logistics01",
            }
        )
    tasks.append(
        {
            "id": 20,
            "description": "米面油分装至各单元",
            "item_id": 7,
            "quantity": 100.0,
            "from_place": "物资仓库",
            "to_place": "1-3号楼",
            "assignees": "搬运小分队",
            "status": "open",
            "created_at": clock.at(DEMO_DATE, 7),
            "done_at": None,
            "done_by": None,
        }
    )
    _insert(cur, "supply_items", supply_items)
    _insert(cur, "stock_movements", movements)
    _insert(cur, "carrying_tasks", tasks)


def _medical_note(tags: list[str], rng: random.Random) -> str | None:
    notes = {
        "chronic": ["高血压，规律服药", "2型糖尿病", "冠心病"],
        "dialysis": ["尿毒症，规律血透"],
        "chemo": ["肺癌术后化疗中", "乳腺癌放疗中"],
        "pregnancy": ["孕晚期，定期产检"],
        "newborn": ["新生儿，需接种疫苗"],
        "disability": ["下肢残疾，行动不便"],
        "elderly_alone": ["独居高龄，子女在外地"],
    }
    for tag in tags:
        if tag in notes:
            return rng.choice(notes[tag])
    return None
