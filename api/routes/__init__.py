"""One router per resource: workflows, cases, history, health."""
