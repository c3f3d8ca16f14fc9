"""Counter web UI (窓口画面): server-rendered Jinja2 pages, no JavaScript build step."""
