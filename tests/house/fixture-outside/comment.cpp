// A fixture for the test `house-self-contained-detects`: this comment
// points at the team's notes (see ../shared/spec/granite-hybrid.md), which
// SelfContained.cmake must report.
