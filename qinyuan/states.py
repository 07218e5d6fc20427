"""Status state machines, defined once. Services check transitions here; the UI asks which
buttons to show. A transition names the roles that may take it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import i18n
from .errors import InvalidInput, PermissionDenied

_WORD = re.compile(r"^[a-z][a-z_]*$")  # what a state's name may be, so it can stand in SQL as a literal


@dataclass(frozen=True)
class Machine:
    name: str
    transitions: dict[str, dict[str, tuple[str, ...]]]  # from -> {to: roles}
    terminal: tuple[str, ...] = ()

    @property
    def states(self) -> list[str]:
        seen: list[str] = []
        for source, targets in self.transitions.items():
            for state in (source, *targets):
                if state not in seen:
                    seen.append(state)
        return seen

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s for s in self.states if s not in self.terminal)

    @property
    def closed_states(self) -> tuple[str, ...]:
        return tuple(self.terminal)

    def sql_list(self, states: tuple[str, ...] | list[str]) -> str:
        """An SQL list literal such as ('a', 'b') for `status IN ...`: only this machine's own state names,
        checked here, so no caller's text ever reaches the SQL."""
        known = self.states
        bad = [s for s in states if s not in known or not _WORD.match(s)]
        if bad or not states:
            raise ValueError(f"{self.name}: not states of this machine: {bad or 'none given'}")
        return "(" + ", ".join(f"'{s}'" for s in states) + ")"

    def next_steps(self, current: str, role: str) -> list[str]:
        return [to for to, roles in self.transitions.get(current, {}).items() if role in roles]

    def check(self, current: str, target: str, role: str) -> None:
        allowed = self.transitions.get(current, {})
        if target not in allowed:
            raise InvalidInput("error.transition", machine=self.name, current=current, target=target)
        if role not in allowed[target]:
            raise PermissionDenied(action=f"{self.name}.{target}", unit="")

    def is_open(self, state: str) -> bool:
        return state not in self.terminal

    def label_key(self, state: str) -> str:
        """The one catalogue entry naming this state, used by every page that shows it."""
        return f"state.{self.name}.{state}"

    def label(self, state: str, lang: str = i18n.DEFAULT_LANG) -> str:
        return i18n.t(self.label_key(state), lang)
