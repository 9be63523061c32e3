"""The browser portal under /portal/: facilitators register sessions and submit attendee lists, staff
answer "where is my certificate?" and export attendance (SPEC §6).

HTML forms over the same rules, ledger functions and desk as the JSON API; it works without JavaScript
(the strict Content-Security-Policy allows none), with a keyboard alone and at phone width.
"""
