"""Instagram accounts: storing their tokens (`service`) and keeping them fresh (`upkeep`)."""
