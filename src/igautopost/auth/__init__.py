"""Users of the HTTP API: passwords, API tokens (`users`) and login throttling (`throttle`)."""
