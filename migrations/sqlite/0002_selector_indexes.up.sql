-- Indexes for the snapshot builder (issue 3): every branch of the hidden
-- and caps loaders (by user, by group, by pseudo-group selector) and the
-- default-groups lookup find their rows by index instead of reading the
-- org's rows; group deletes checking the selector_group foreign keys too.
CREATE INDEX hidden_by_user ON hidden (org_id, selector_user);
CREATE INDEX hidden_by_group ON hidden (org_id, selector_group);
CREATE INDEX caps_by_user ON caps (org_id, selector_user);
CREATE INDEX caps_by_group ON caps (org_id, selector_group);
CREATE INDEX caps_by_selector ON caps (org_id, selector);
CREATE INDEX groups_default ON groups (org_id) WHERE is_default = 1;
