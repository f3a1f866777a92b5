"""`{% rule_days "RETENTION" %}` -> "14 days": a rule's period in a template, built from the
rule's constant (rules.days), so the pages say what the rules do when a period changes."""

from datetime import timedelta

from django import template

from backups import rules

register = template.Library()

# The periods a page may name, by their names in rules (B3, B7, R4, R5, E2).
PERIODS = ("BACKUP_INTERVAL", "RETENTION", "RESTORE_INTERVAL", "UPLOAD_WINDOW", "ABANDONED_AFTER")


@register.simple_tag
def rule_days(name: str) -> str:
    if name not in PERIODS:  # a typo must not render as an empty string
        raise template.TemplateSyntaxError(f"rule_days: {name!r} is not one of {PERIODS}")
    period: timedelta = getattr(rules, name)
    return rules.days(period)
