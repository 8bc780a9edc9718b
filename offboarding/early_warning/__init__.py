"""§14 early warning and the retention karte: rules, priority, karte pure; store, signals not."""
