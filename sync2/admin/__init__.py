"""What an administrator does outside the feed: manual syncs and retries, passport edits and
conflict resolutions, and the passport summary the CLI, the API and the console show."""
