"""A decision form as HTML fields, from the same RunInput model the Prefect UI renders, and
the posted fields back into its payload. A field whose default would change the case's path
(a yes/no or a choice without a default) is asked with no answer preselected."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: Bound by the link, never typed on the page.
BOUND = ("decided_by", "decision_code")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    help: str
    widget: str  # "yesno", "choice", "check", "text", "date", "number"
    choices: tuple[str, ...] = ()
    required: bool = False


def _choices(annotation: Any) -> tuple[str, ...]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in args)
    for a in args:  # Optional[Literal[...]]
        if typing.get_origin(a) is typing.Literal:
            return tuple(str(x) for x in typing.get_args(a))
    return ()


def form_fields(model: type[BaseModel]) -> list[FormField]:
    out = []
    for name, info in model.model_fields.items():
        if name in BOUND:
            continue
        required = info.default is PydanticUndefined and info.default_factory is None
        ann = info.annotation
        label = name.replace("_", " ").capitalize()
        help_text = info.description or ""
        if choices := _choices(ann):
            out.append(FormField(name, label, help_text, "choice", choices, required))
        elif ann is bool or (set(typing.get_args(ann)) == {bool, type(None)}):
            # a yes/no without a default (or defaulting to "not chosen") has no answer preselected
            yesno = required or ann is not bool
            out.append(FormField(name, label, help_text, "yesno" if yesno else "check"))
        elif date in typing.get_args(ann) or ann is date:
            out.append(FormField(name, label, help_text, "date"))
        elif float in typing.get_args(ann) or ann in (float, int):
            out.append(FormField(name, label, help_text, "number"))
        else:
            out.append(FormField(name, label, help_text, "text", required=required))
    return out


def payload_from_form(model: type[BaseModel], form: dict[str, list[str]]) -> dict[str, Any]:
    """The posted fields as the model's payload: unchecked boxes are False, blanks omitted."""
    payload: dict[str, Any] = {}
    for f in form_fields(model):
        value = (form.get(f.name) or [""])[-1].strip()
        if f.widget == "check":
            payload[f.name] = value in ("on", "true", "yes")
        elif f.widget == "yesno":
            if value:
                payload[f.name] = value == "yes"
        elif value:
            payload[f.name] = value
    return payload
