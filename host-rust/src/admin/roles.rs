//! Admin writes for roles (DESIGN §5). Being written (issue 3).
