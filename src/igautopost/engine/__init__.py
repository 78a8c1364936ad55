"""The publishing engine: what happens to a post between its claim and its release.

`publisher` claims a due post, runs its next step (`transitions`: create the container, poll
it, publish, follow up) and releases it; `launcher` sends publish calls on their second;
`leases` keeps a running step's claim alive; `quota` and `policy` decide when; `tokens`
picks the token a call uses; `simulation` runs it all on a fake clock.
"""
