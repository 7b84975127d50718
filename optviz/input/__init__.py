"""Input: YAML documents with line numbers, run configs, the safe formula language
and the shipped library of surfaces and configs."""
