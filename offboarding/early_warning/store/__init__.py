"""Early warning's queries: the population, at-risk episodes, the karte's facts. Takes a Session."""
