"""Timers and the calendar: working-day arithmetic, claiming due timers and the APScheduler
wiring.
"""
