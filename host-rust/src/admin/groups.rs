//! Admin writes for groups (DESIGN §5). Being written (issue 3).
