DROP INDEX groups_default;
DROP INDEX caps_by_selector;
DROP INDEX caps_by_group;
DROP INDEX caps_by_user;
DROP INDEX hidden_by_group;
DROP INDEX hidden_by_user;
