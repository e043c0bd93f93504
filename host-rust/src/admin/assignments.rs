//! Admin writes for assignments (DESIGN §5). Being written (issue 3).
