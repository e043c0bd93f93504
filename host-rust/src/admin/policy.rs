//! Admin writes for policy (DESIGN §5). Being written (issue 3).
